/* The front desk without a connection (issue #24).
 *
 * A voucher's QR code carries its code and an offline allowance the city signed with Ed25519:
 *   PCV1.<code>.<most cents>.<sales a day>.<last day>.<signature, base64url>
 * Scanned (by the camera, or by a USB scanner typing it into the code field), the allowance is
 * checked here against the city's public key the page carries (WebCrypto). While the browser is
 * offline a sale is kept in IndexedDB (it survives a reload and a closed tab) if the allowance
 * covers it: signed by the city, not past its last day, within its amount and its sales a day,
 * counting the sales already kept. Each scan is one sale at most: its idempotency key is drawn
 * when the code is scanned. When the connection returns the kept sales are sent, once each by
 * their key, to the desk's endpoint, with back-off between failed tries; the server answers
 * what became of each (redeemed, paid by the city after a conflict, refused and why).
 * The page's words come from its data-msg-* attributes; nothing is fetched from elsewhere. */
(function () {
  "use strict";

  var DB_NAME = "procomun-desk";
  var STORE = "sales";
  var SYNCED = "procomun-desk-synced";
  var RETRY_MAX_S = 300;
  var TICK_MS = 3000;
  var PROBE_MS = 4000;

  function b64url(text) {
    var plain = text.replace(/-/g, "+").replace(/_/g, "/");
    while (plain.length % 4) {
      plain += "=";
    }
    var raw = atob(plain);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  // The city's day, not the device's: an allowance ends, and a day's sales count, in the city's time zone
  // (a device set to another zone would otherwise sell on a day the server calls past).
  var cityZone = null;

  function localDay(date) {
    var d = date || new Date();
    if (cityZone) {
      try {
        return new Intl.DateTimeFormat("en-CA", { timeZone: cityZone, year: "numeric", month: "2-digit",
                                                  day: "2-digit" }).format(d);
      } catch (e) { /* an unknown zone: the device's day */ }
    }
    var month = String(d.getMonth() + 1).padStart(2, "0");
    return d.getFullYear() + "-" + month + "-" + String(d.getDate()).padStart(2, "0");
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) {
      return "scan-" + crypto.randomUUID();
    }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return "scan-" + Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  /* The allowance in a scanned text, or null when it is not one (a typed code). */
  function parseAllowance(text) {
    var parts = (text || "").trim().split(".");
    if (parts.length !== 6 || parts[0] !== "PCV1") {
      return null;
    }
    var match = /^\d{4}-\d{2}-\d{2}$/.test(parts[4]) && /^\d+$/.test(parts[2]) && /^\d+$/.test(parts[3]);
    if (!match) {
      return null;
    }
    return {
      signed: parts.join("."), text: parts.slice(0, 5).join("."), signature: parts[5], code: parts[1],
      maxCents: parseInt(parts[2], 10), perDay: parseInt(parts[3], 10), expires: parts[4],
    };
  }

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function setUp(root) {
    var d = root.dataset;
    var form = document.querySelector("form.desk-redeem");
    if (!form || !window.indexedDB || !window.crypto || !crypto.subtle) {
      root.hidden = false;
      root.querySelector("[data-offline-message]").textContent = d.msgNoStorage || "";
      return;
    }
    var codeField = form.querySelector("[name=code]");
    var amountField = form.querySelector("[name=amount]");
    var categoryField = form.querySelector("[name=category]");
    var organisationField = form.querySelector("[name=organisation]");
    var stateText = root.querySelector("[data-offline-state]");
    var waitingText = root.querySelector("[data-offline-waiting]");
    var syncedText = root.querySelector("[data-offline-synced]");
    var message = root.querySelector("[data-offline-message]");
    var queueTable = root.querySelector("[data-offline-queue]");
    // Dates as the device writes them when it speaks the page's language ("en-GB" for "en"), else the page's.
    cityZone = d.timezone || null;
    var dateLocale = (navigator.language || "").indexOf(d.locale) === 0 ? navigator.language : d.locale;
    var money = new Intl.NumberFormat(d.locale || "en", { style: "currency", currency: d.currency || "EUR" });
    var dbReady = openDb();
    var cityKey = crypto.subtle.importKey("raw", b64url(d.cityKey), { name: "Ed25519" }, false, ["verify"]);
    var scan = null;   // the allowance scanned for the sale being typed, with its key
    var syncing = false;
    // The device may say it is online while the server cannot be reached (a router without uplink, a
    // captive portal): the desk then behaves as offline until the server answers again.
    var reachable = true;
    var passing = false;  // a submit the desk let through after the server answered

    root.hidden = false;

    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(d.worker, { scope: d.scope }).catch(function () {});
    }

    function say(text) {
      message.textContent = text || "";
    }

    function fill(template, values) {
      return template.replace(/%\((\w+)\)s/g, function (all, name) {
        return values[name] !== undefined ? values[name] : all;
      });
    }

    function verify(allowance) {
      return cityKey.then(function (key) {
        return crypto.subtle.verify({ name: "Ed25519" }, key, b64url(allowance.signature),
                                    new TextEncoder().encode(allowance.text));
      }).catch(function () { return false; });
    }

    /* A scanned QR text in the code field: keep its allowance, leave the code. */
    function read() {
      var allowance = parseAllowance(codeField.value);
      if (allowance) {
        codeField.value = allowance.code;
        allowance.key = newKey();
        allowance.verified = verify(allowance);
        scan = allowance;
        allowance.verified.then(function (good) {
          if (scan !== allowance) {
            return;
          }
          say(good ? fill(d.msgAllowance, { amount: money.format(allowance.maxCents / 100),
                                            day: new Date(allowance.expires + "T12:00:00").toLocaleDateString(dateLocale) })
                   : d.msgForged);
        });
      } else if (scan && codeField.value.trim().toUpperCase() !== scan.code) {
        scan = null;  // another code typed by hand: no allowance for it
        say("");
      }
    }
    codeField.addEventListener("input", read);
    codeField.addEventListener("change", read);

    function cents(text) {
      var plain = (text || "").trim().replace(/[€$£\s]/g, "").replace(",", ".");
      if (!/^\d+(\.\d{1,2})?$/.test(plain)) {
        return null;
      }
      var value = Math.round(parseFloat(plain) * 100);
      return value > 0 ? value : null;
    }

    /* Keep a sale if the scanned allowance covers it, counting the sales of the voucher kept already;
     * the check and the write are one IndexedDB transaction, so two tabs cannot both pass it. */
    function keepSale(allowance, amount) {
      return dbReady.then(function (db) {
        return new Promise(function (resolve) {
          var tx = db.transaction(STORE, "readwrite");
          var store = tx.objectStore(STORE);
          var outcome = null;
          store.getAll().onsuccess = function (event) {
            // Every sale kept for this voucher counts, whichever of its QR codes it was scanned from.
            var kept = event.target.result.filter(function (sale) {
              return sale.code === allowance.code && sale.state !== "refused";
            });
            if (kept.some(function (sale) { return sale.key === allowance.key; })) {
              outcome = d.msgAlready;
              return;
            }
            var spent = kept.reduce(function (sum, sale) { return sum + sale.amount_cents; }, 0);
            var today = localDay();
            var sameDay = kept.filter(function (sale) { return localDay(new Date(sale.offline_at)) === today; });
            if (spent + amount > allowance.maxCents) {
              outcome = fill(d.msgBeyond, { amount: money.format((allowance.maxCents - spent) / 100) });
            } else if (sameDay.length >= allowance.perDay) {
              outcome = d.msgPerDay;
            } else {
              store.add({
                key: allowance.key, allowance: allowance.signed, code: allowance.code, amount_cents: amount,
                category: categoryField ? categoryField.value : "",
                organisation: organisationField ? organisationField.value : d.organisation,
                offline_at: new Date().toISOString(), state: "waiting", message: "", tries: 0, next_try: 0,
              });
            }
          };
          tx.oncomplete = function () { resolve(outcome); };
          tx.onerror = function (event) {
            event.preventDefault();
            resolve(d.msgAlready);  // the key is there already: this scan was sold
          };
          tx.onabort = function () { resolve(outcome || d.msgAlready); };
        });
      });
    }

    /* Does the server answer now? A short question, bounded in time, before a scanned sale. */
    function probe() {
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller ? setTimeout(function () { controller.abort(); }, PROBE_MS) : null;
      return fetch(d.ping, { cache: "no-store", credentials: "same-origin", signal: controller && controller.signal })
        .then(function (response) { return response.status < 500; })
        .catch(function () { return false; })
        .then(function (up) {
          clearTimeout(timer);
          setReachable(up);
          return up;
        });
    }

    function setReachable(up) {
      var back = up && !reachable;
      reachable = up;
      return back ? allDue().then(sync) : render();
    }

    form.addEventListener("submit", function (event) {
      if (passing) {
        passing = false;
        return;  // the server answered: the form goes to it as always
      }
      read();
      if (navigator.onLine && !scan && reachable) {
        return;  // a typed code online: nothing could be kept offline anyway
      }
      event.preventDefault();
      var submitter = event.submitter;
      (navigator.onLine ? probe() : Promise.resolve(false)).then(function (up) {
        if (up) {
          passing = true;
          if (form.requestSubmit) {
            form.requestSubmit(submitter || undefined);
          } else {
            form.submit();
          }
        } else {
          sellOffline();
        }
      });
    });

    function sellOffline() {
      var allowance = scan;
      if (!allowance || allowance.code !== codeField.value.trim().toUpperCase()) {
        say(d.msgNoAllowance);
        return;
      }
      var amount = cents(amountField.value);
      allowance.verified.then(function (good) {
        if (!good) {
          say(d.msgForged);
          return null;
        }
        if (localDay() > allowance.expires) {
          say(d.msgExpired);
          return null;
        }
        if (amount === null) {
          say(d.msgBadAmount);
          return null;
        }
        return keepSale(allowance, amount).then(function (refusal) {
          if (refusal) {
            say(refusal);
            return;
          }
          scan = null;
          codeField.value = "";
          amountField.value = "";
          say(d.msgQueued);
          render();
        });
      });
    }

    function allSales() {
      return dbReady.then(function (db) {
        return done(db.transaction(STORE).objectStore(STORE).getAll());
      });
    }

    function update(sale) {
      return dbReady.then(function (db) {
        return done(db.transaction(STORE, "readwrite").objectStore(STORE).put(sale));
      });
    }

    function render() {
      var online = navigator.onLine;
      stateText.textContent = !online ? d.msgOffline : reachable ? d.msgOnline : d.msgUnreachable;
      root.classList.toggle("is-offline", !online || !reachable);
      var synced = localStorage.getItem(SYNCED);
      syncedText.textContent = synced ? new Date(synced).toLocaleString(dateLocale) : d.msgNever;
      return allSales().then(function (sales) {
        waitingText.textContent = String(sales.filter(function (s) { return s.state === "waiting"; }).length);
        var body = queueTable.querySelector("tbody");
        body.textContent = "";
        sales.sort(function (a, b) { return a.offline_at < b.offline_at ? 1 : -1; });
        sales.slice(0, 20).forEach(function (sale) {
          var row = body.insertRow();
          var words = { waiting: d.msgWaiting, redeemed: d.msgRedeemed, honoured: d.msgHonoured, refused: d.msgRefused };
          [new Date(sale.offline_at).toLocaleString(dateLocale), sale.code, money.format(sale.amount_cents / 100),
           (words[sale.state] || sale.state) + (sale.message ? ": " + sale.message : "")].forEach(function (text, i) {
            var cell = row.insertCell();
            cell.textContent = text;
            if (i === 2) {
              cell.className = "num";
            }
          });
          row.dataset.state = sale.state;
        });
        queueTable.hidden = sales.length === 0;
      });
    }

    function send(sale) {
      var token = form.querySelector("[name=csrf_token]").value;
      return fetch(d.send, {
        method: "POST", credentials: "same-origin", redirect: "manual",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json" },
        body: JSON.stringify({ key: sale.key, allowance: sale.allowance, amount_cents: sale.amount_cents,
                               category: sale.category, organisation: sale.organisation,
                               offline_at: sale.offline_at }),
      }).then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!json || response.status >= 500 || response.status === 429) {
          if (!json && response.status < 500) {
            say(d.msgSignIn);  // the session ended or its token is stale: try again later
          }
          throw new Error("not sent");
        }
        reachable = true;
        return response.json().then(function (answer) {
          if (response.ok) {
            sale.state = answer.outcome;
            sale.message = answer.message || "";
          } else {
            sale.state = "refused";
            sale.message = answer.message || "";
          }
          localStorage.setItem(SYNCED, new Date().toISOString());
          return update(sale);
        });
      }).catch(function (error) {
        if (error instanceof TypeError) {
          reachable = false;  // the request never reached the server (not an answer it gave)
        }
        sale.tries += 1;
        sale.next_try = Date.now() + Math.min(Math.pow(2, sale.tries), RETRY_MAX_S) * 1000;
        return update(sale);
      });
    }

    /* Send the waiting sales that are due, one after another. */
    function sync() {
      if (syncing || !navigator.onLine) {
        return Promise.resolve();
      }
      syncing = true;
      return allSales().then(function (sales) {
        var due = sales.filter(function (s) { return s.state === "waiting" && s.next_try <= Date.now(); });
        return due.reduce(function (chain, sale) {
          return chain.then(function () { return send(sale); });
        }, Promise.resolve());
      }).catch(function () {}).then(function () {
        syncing = false;
        return render();
      });
    }

    /* The connection is back: every waiting sale is due now, whatever its back-off said. */
    function allDue() {
      return allSales().then(function (sales) {
        return Promise.all(sales.filter(function (s) { return s.state === "waiting"; }).map(function (s) {
          s.next_try = 0;
          return update(s);
        }));
      });
    }

    window.addEventListener("online", function () {
      allDue().then(sync);
    });
    window.addEventListener("offline", render);
    // Each tick sends what is due; while the server is out of reach, it only asks whether it is back.
    setInterval(function () {
      return navigator.onLine && !reachable ? probe() : sync();
    }, TICK_MS);
    render().then(sync);

    // For tests and support: what the desk holds now.
    window.ProcomunDesk = { sales: allSales, sync: sync, render: render };
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-offline-desk]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
