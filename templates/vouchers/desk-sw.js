/* The front desk's service worker (issue #24): the desk page, its scripts and styles open without a
 * connection once visited. Network first (a desk online always sees today's page), the copy kept
 * at the last visit otherwise; the page is kept as it was seen, in the language it was seen in.
 * Sales are not sent from here: the page queues them in IndexedDB (static/desk/offline-desk.js). */
"use strict";
var CACHE = {{ version|tojson }};
var DESK = {{ desk|tojson }};
var ASSETS = {{ assets|tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // The desk page too: the visit that registered this worker was not yet seen by it.
    return cache.addAll(ASSETS).then(function () {
      return fetch(DESK, { credentials: "same-origin" }).then(function (response) {
        return response.ok && !response.redirected ? cache.put(DESK, response) : null;
      }).catch(function () { return null; });
    });
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) {
      return caches.delete(name);
    }));
  }).then(function () {
    return self.clients.claim();
  }));
});

function keep(request, key) {
  return fetch(request).then(function (response) {
    // Only a page really served (not a sign-in page it was redirected to, not an error) is kept.
    if (response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(key);
    }).then(function (kept) {
      return kept || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return;
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname === DESK && request.mode === "navigate") {
    event.respondWith(keep(request, DESK));
  } else if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(keep(request, url.pathname));
  }
});
