/* The operator's token page: polls the token's status every 5 s and reloads the page when
   it changes (the doctor calls, the consultation starts or ends), so "Join with the
   patient" appears by itself. A failed poll is retried at the next tick. */
(function () {
  "use strict";
  var root = document.getElementById("assisted-ticket");
  if (!root || !root.dataset.statusUrl) return;
  var shown = root.dataset.status;
  var POLL_MS = 5000;
  var done = ["completed", "cancelled", "expired"];
  if (done.indexOf(shown) !== -1) return;
  function poll() {
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (status && status.status !== shown) { window.location.reload(); return; }
        setTimeout(poll, POLL_MS);
      })
      .catch(function () { setTimeout(poll, POLL_MS); });
  }
  setTimeout(poll, POLL_MS);
})();
