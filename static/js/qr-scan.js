/* Front desk: read a voucher's QR code with the device's camera and fill the code field.
 *
 * Progressive: the "Scan QR" button stays hidden unless the browser can open a camera, and
 * typing the code always works. Decoding uses the browser's BarcodeDetector where it exists,
 * else the vendored jsQR (static/vendor/jsqr/), loaded only when needed. Messages come
 * translated from the page's data-msg-* attributes. No inline script (CSP), nothing fetched
 * from outside this site. */
(function () {
  "use strict";

  var SCAN_EVERY_MS = 150;
  // Twelve letters and digits, grouped by dashes or spaces; the server checks the rest.
  var VOUCHER_CODE = /^[0-9A-Za-z][0-9A-Za-z -]{10,20}[0-9A-Za-z]$/;
  // Or the code with the offline allowance the city signed (static/desk/offline-desk.js reads it).
  var VOUCHER_ALLOWANCE = /^PCV1\.[0-9A-Z-]{14}\.\d+\.\d+\.\d{4}-\d{2}-\d{2}\.[A-Za-z0-9_-]+$/;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  /* A decoder: a function (video or canvas source) -> Promise of the text read, or null. */
  function makeDecoder(jsqrUrl) {
    if ("BarcodeDetector" in window) {
      var detector;
      try {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (error) {
        detector = null;
      }
      if (detector) {
        return Promise.resolve(function (source) {
          return detector.detect(source).then(function (codes) {
            return codes.length ? codes[0].rawValue : null;
          });
        });
      }
    }
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    var ready = window.jsQR ? Promise.resolve() : loadScript(jsqrUrl);
    return ready.then(function () {
      return function (source) {
        var width = source.videoWidth || source.width;
        var height = source.videoHeight || source.height;
        if (!width || !height) {
          return Promise.resolve(null);
        }
        canvas.width = width;
        canvas.height = height;
        context.drawImage(source, 0, 0, width, height);
        var found = window.jsQR(context.getImageData(0, 0, width, height).data, width, height,
                                { inversionAttempts: "attemptBoth" });
        return Promise.resolve(found ? found.data : null);
      };
    });
  }

  function setUp(scanner) {
    var field = document.getElementById(scanner.dataset.target);
    var start = scanner.querySelector("[data-scan-start]");
    var stop = scanner.querySelector("[data-scan-stop]");
    var video = scanner.querySelector("video");
    var status = scanner.querySelector("[data-scan-status]");
    var stream = null;
    var timer = null;

    function say(key) {
      status.textContent = scanner.dataset[key] || "";
    }

    function finish() {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      if (stream) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
      }
      video.srcObject = null;
      video.hidden = true;
      stop.hidden = true;
      start.hidden = false;
    }

    function found(text) {
      finish();
      field.value = text.trim();
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
      status.textContent = (scanner.dataset.msgFound || "") + " " + field.value;
      var next = document.getElementById(scanner.dataset.next);
      (next || field).focus();
    }

    function refused(error) {
      finish();
      var name = error && error.name;
      if (name === "NotAllowedError" || name === "SecurityError") {
        say("msgDenied");
      } else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
        say("msgNoCamera");
      } else {
        say("msgFailed");
      }
      field.focus();
    }

    start.addEventListener("click", function () {
      say("msgStarting");
      start.hidden = true;
      Promise.all([
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }),
        makeDecoder(scanner.dataset.decoder),
      ]).then(function (results) {
        stream = results[0];
        var decode = results[1];
        video.srcObject = stream;
        video.hidden = false;
        stop.hidden = false;
        say("msgScanning");
        return video.play().then(function () {
          function tick() {
            if (!stream) {
              return;
            }
            decode(video).then(function (text) {
              if (text && stream && (VOUCHER_CODE.test(text.trim()) || VOUCHER_ALLOWANCE.test(text.trim()))) {
                found(text);
              } else if (stream) {
                if (text) {
                  say("msgNotVoucher");  // another QR code (a web address, say): keep looking
                }
                timer = setTimeout(tick, SCAN_EVERY_MS);
              }
            }, function () {
              timer = setTimeout(tick, SCAN_EVERY_MS);
            });
          }
          tick();
        });
      }).catch(function (error) {
        if (stream) {
          stream.getTracks().forEach(function (track) { track.stop(); });
          stream = null;
        }
        refused(error);
      });
    });

    stop.addEventListener("click", function () {
      finish();
      say("msgStopped");
      field.focus();
    });

    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      start.hidden = false;
    } else {
      say("msgUnsupported");
    }
  }

  /* For tests and other pages: decode a QR from an <img> or <canvas> already on the page. */
  window.ProcomunQr = {
    decodeImage: function (source, jsqrUrl) {
      return makeDecoder(jsqrUrl || "/static/vendor/jsqr/jsQR.js").then(function (decode) {
        return decode(source);
      });
    },
  };

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-qr-scanner]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
