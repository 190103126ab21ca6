/* The patient's consultation page: when the doctor ends the consultation, reload to show the
   prescription, the summary and the feedback form. The room (realtime/room.js) says so at
   once; the status is polled every 5 s only while the room is not live, and once a minute
   while it is, in case its word was lost. */
(function () {
  "use strict";
  var root = document.getElementById("consultation");
  if (!root || root.dataset.open !== "1") return;
  var OFFLINE_MS = 5000;
  var LIVE_MS = 60000;
  var url = root.dataset.statusUrl;
  var timer = null;
  var check = function () {
    fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s && s.ended) window.location.reload(); })
      .catch(function () {});
  };
  var every = function (ms) {
    if (timer) clearInterval(timer);
    timer = setInterval(check, ms);
  };
  every(OFFLINE_MS);
  document.addEventListener("sanjeevani:room-link", function (e) {
    every(e.detail && e.detail.live ? LIVE_MS : OFFLINE_MS);
  });
  document.addEventListener("sanjeevani:room-ended", check);
})();
