/* The map of urban commons (templates/pacts/_commons_map.html): the register's GeoJSON export drawn with
 * the vendored Leaflet (static/vendor/leaflet/), on the tile server the city set (PROCOMUN_MAP_TILES) or,
 * without one or when its tiles do not come, on a blank background with the outline of the points.
 *
 * Keyboard: each commons is a button the Tab key reaches; Enter or Space opens its name and a link to its
 * page (the focus moves to the link), Escape closes it and the focus goes back to the commons. The page
 * says the same in text (the register's list, a commons' facts), which is the map for a visitor without
 * JavaScript. Words come translated from the data-msg-* attributes. No inline script or style (CSP). */
(function () {
  "use strict";

  var CLOSE_ZOOM = 16;  // a street and its neighbours: where a commons is, on a tile map

  /* The convex hull of [lat, lng] points (Andrew's monotone chain), in drawing order. */
  function hull(points) {
    var sorted = points.slice().sort(function (a, b) { return a[1] - b[1] || a[0] - b[0]; });
    function cross(o, a, b) { return (a[1] - o[1]) * (b[0] - o[0]) - (a[0] - o[0]) * (b[1] - o[1]); }
    function half(list) {
      var chain = [];
      list.forEach(function (p) {
        while (chain.length >= 2 && cross(chain[chain.length - 2], chain[chain.length - 1], p) <= 0) {
          chain.pop();
        }
        chain.push(p);
      });
      chain.pop();
      return chain;
    }
    return half(sorted).concat(half(sorted.slice().reverse()));
  }

  function wanted(feature, data) {
    var p = feature.properties || {};
    var c = (feature.geometry || {}).coordinates;
    return feature.geometry && feature.geometry.type === "Point" && c && isFinite(c[0]) && isFinite(c[1]) &&
      (!data.kind || p.kind === data.kind) && (!data.neighbourhood || p.neighbourhood === data.neighbourhood);
  }

  function popupContent(properties, url) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = url;
    link.className = "commons-popup-name";
    link.textContent = properties.name;
    box.appendChild(link);
    var where = [properties.place, properties.neighbourhood].filter(Boolean).join(" · ");
    if (where) {
      var line = document.createElement("p");
      line.textContent = where;
      box.appendChild(line);
    }
    return box;
  }

  function addCommons(map, feature, data) {
    var p = feature.properties;
    var current = String(p.id) === data.focus;
    var url = data.commonsUrl.replace(/0$/, String(p.id));
    var content = popupContent(p, url);
    var marker = L.marker([feature.geometry.coordinates[1], feature.geometry.coordinates[0]], {
      icon: L.divIcon({ className: "commons-pin" + (current ? " commons-pin-current" : ""),
                        iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -10] }),
      title: p.name, keyboard: true, riseOnHover: true, zIndexOffset: current ? 1000 : 0
    }).bindPopup(content, { autoPanPadding: [16, 16] }).addTo(map);
    var pin = marker.getElement();
    pin.setAttribute("aria-label", p.name);
    pin.setAttribute("aria-expanded", "false");
    pin.addEventListener("keydown", function (event) {
      if (event.key === " ") {  // a button opens with Space as well as Enter (Leaflet does Enter)
        event.preventDefault();
        marker.togglePopup();
      }
    });
    marker.on("popupopen", function (event) {
      pin.setAttribute("aria-expanded", "true");
      var close = event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) {
        close.setAttribute("aria-label", data.msgClose);
        close.title = data.msgClose;
      }
      if (document.activeElement === pin) {
        content.querySelector("a").focus();
      }
    });
    marker.on("popupclose", function (event) {
      pin.setAttribute("aria-expanded", "false");
      var active = document.activeElement;
      if (!active || active === document.body || event.popup.getElement().contains(active)) {
        pin.focus({ preventScroll: true });
      }
    });
  }

  function draw(element, data, features) {
    element.hidden = false;
    var help = document.querySelector("[data-commons-map-help]");
    if (help) {
      help.hidden = false;
    }
    var map = L.map(element, {
      scrollWheelZoom: false,            // the page scrolls past the map; + and − and the keys zoom
      dragging: !L.Browser.mobile,       // one finger scrolls the page on a phone, two zoom the map
      zoomControl: false,
      zoomSnap: data.tiles ? 1 : 0.25    // tiles come in whole zoom levels; a blank map fits its points
    });
    L.control.zoom({ zoomInTitle: data.msgZoomIn, zoomOutTitle: data.msgZoomOut }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');

    // A map draws its layers once it has a view: set it first, from the points.
    var points = features.map(function (f) { return L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]); });
    var focus = features.filter(function (f) { return String(f.properties.id) === data.focus; })[0];
    if (focus && data.tiles) {
      map.setView([focus.geometry.coordinates[1], focus.geometry.coordinates[0]], CLOSE_ZOOM);
    } else if (points.length === 1) {
      map.setView(points[0], CLOSE_ZOOM);
    } else {
      map.fitBounds(L.latLngBounds(points), { padding: [28, 28], maxZoom: CLOSE_ZOOM });
    }

    var outlined = false;
    function blank() {
      if (outlined) {
        return;
      }
      outlined = true;
      element.classList.add("commons-map-blank");
      var corners = hull(points.map(function (p) { return [p.lat, p.lng]; }));
      var style = { className: "commons-outline", interactive: false };
      if (corners.length >= 3) {
        L.polygon(corners, style).addTo(map);
      } else if (corners.length === 2) {
        L.polyline(corners, style).addTo(map);
      }
    }
    if (data.tiles) {
      var loaded = false;
      // The site sends no Referer elsewhere (same-origin); a tile server is told the site's origin, never the
      // page, as OpenStreetMap's tile policy asks of a web page.
      L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 19,
                                referrerPolicy: "strict-origin-when-cross-origin" })
        .on("tileload", function () { loaded = true; })
        .on("tileerror", function () { if (!loaded) { blank(); } })
        .addTo(map);
    } else {
      blank();
    }
    features.forEach(function (feature) { addCommons(map, feature, data); });
    // Escape closes an open commons wherever the focus is inside the map (Leaflet's own key handling
    // only listens while the map itself has the focus).
    element.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        map.closePopup();
      }
    });
    element.dataset.commonsMapReady = String(points.length);
  }

  function start(element) {
    var data = element.dataset;
    var status = document.querySelector("[data-commons-map-status]");
    function say(message) {
      if (status) {
        status.textContent = message;
      }
    }
    if (!window.L || !window.fetch) {
      say(data.msgFailed);
      return;
    }
    fetch(data.geojson, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (collection) {
        var features = (collection.features || []).filter(function (f) { return wanted(f, data); });
        if (!features.length) {
          say(data.msgEmpty);
          return;
        }
        draw(element, data, features);
      })
      .catch(function (error) {
        element.hidden = true;
        say(data.msgFailed);
        window.console.error("commons map:", error);
      });
  }

  document.querySelectorAll("[data-commons-map]").forEach(start);
})();
