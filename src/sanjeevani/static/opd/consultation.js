/* The patient's consultation page: when the doctor ends the consultation, reload to show the
   prescription, the summary and the feedback form. */
(function () {
  "use strict";
  var root = document.getElementById("consultation");
  if (root && root.dataset.open === "1") {
    var url = root.dataset.statusUrl;
    var check = function () {
      fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s && s.ended) window.location.reload(); })
        .catch(function () {});
    };
    setInterval(check, 5000);
    document.addEventListener("sanjeevani:room-ended", check);
  }
})();
