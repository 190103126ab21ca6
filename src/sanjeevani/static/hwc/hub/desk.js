/* The hub desk's live load: asks for the figures every 15 s (one small query per
   coordinator; the hub has a queue per specialty, so no single queue feed covers it).
   Says when the figures were updated, or that they are stale. */
(function () {
  "use strict";
  var root = document.getElementById("hub-load");
  if (!root || !window.fetch) return;
  var live = document.getElementById("load-live"), last = null;

  function time(iso) { var d = new Date(iso); return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
  function cell(row, value, header) {
    var el = document.createElement(header ? "th" : "td");
    if (header) el.scope = "row";
    el.textContent = value; row.appendChild(el);
  }
  function render(load) {
    var body = document.getElementById("load-rows");
    body.textContent = "";
    load.specialties.forEach(function (s) {
      var tr = document.createElement("tr");
      tr.dataset.specialty = s.specialty;
      cell(tr, s.specialty_name, true); cell(tr, s.doctors_online); cell(tr, s.waiting);
      cell(tr, s.urgent); cell(tr, s.oldest_wait_minutes); cell(tr, s.state_overflow);
      body.appendChild(tr);
    });
    last = load.updated_at;
    live.textContent = root.dataset.updated.replace("%(time)s", time(last));
  }
  function refresh() {
    if (document.hidden) return;
    fetch(root.dataset.loadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render)
      .catch(function () { if (last) live.textContent = root.dataset.stale.replace("%(time)s", time(last)); });
  }
  setInterval(refresh, 15000);
  document.addEventListener("visibilitychange", refresh);
})();
