/* Live figures on a dashboard: "patients waiting now" and "doctors online now" fetched again
   about every 20 seconds from the element's data-live-url. The page shows the figures of its
   own render without this script; a failed fetch leaves them as they were and tries again.
   Paused while the tab is hidden, so a forgotten tab costs the server nothing. */
(function () {
  "use strict";
  var PERIOD_MS = 20000;
  var box = document.querySelector("[data-live-url]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-live-url");
  var format = window.Intl && Intl.NumberFormat ? new Intl.NumberFormat("en-US") : null;

  function show(figures) {
    Object.keys(figures).forEach(function (name) {
      var cell = box.querySelector('[data-live="' + name + '"]');
      var value = figures[name];
      if (cell && typeof value === "number") {
        var text = format ? format.format(value) : String(value);
        if (cell.textContent !== text) {
          cell.textContent = text;
        }
      }
    });
  }

  function refresh() {
    if (document.hidden) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (figures) { if (figures) { show(figures); } })
      .catch(function () { /* offline for a moment: keep the last figures */ });
  }

  window.setInterval(refresh, PERIOD_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
})();
