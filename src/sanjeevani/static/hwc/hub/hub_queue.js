/* The hub doctor's live queue: redrawn on every event of the doctor's feed and polled every
   10 s besides (the feed follows the hub's own queue; cases reach the state's overflow
   without an event there). Urgent cases show their danger signs in words. */
(function () {
  "use strict";
  var root = document.getElementById("doctor-queue");
  if (!root) return;
  var url = root.dataset.queueUrl, wsPath = root.dataset.wsPath;
  var consultationUrl = root.dataset.consultationUrl, PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
  var pollTimer = null, tries = 0, pending = false, again = false;
  // Once a form is on its way (Call next), its answer decides the next page: the
  // assignment event it also causes would abort that navigation for a second load.
  var leaving = false;
  document.addEventListener("submit", function (e) { if (!e.defaultPrevented) leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });

  function openConsultation(href) { if (!leaving) { leaving = true; window.location.assign(href); } }

  function cell(row, value) { var td = document.createElement("td"); td.textContent = value; row.appendChild(td); return td; }

  function urgencyCell(row, e) {
    var td = document.createElement("td");
    if (e.urgent) {
      var strong = document.createElement("strong");
      strong.className = "badge-urgent"; strong.textContent = root.dataset.urgent;
      td.appendChild(strong);
      if (e.danger_signs && e.danger_signs.length) {
        td.appendChild(document.createElement("br"));
        var span = document.createElement("span");
        span.className = "danger"; span.textContent = e.danger_signs.join("; ");
        td.appendChild(span);
      }
    } else {
      td.textContent = root.dataset.routine;
    }
    row.appendChild(td);
  }

  function render(q) {
    if (!q || !q.online) return;
    document.getElementById("queue-count").textContent = q.waiting;
    document.getElementById("queue-urgent").textContent = q.urgent;
    document.getElementById("queue-longest").textContent = q.longest_wait_minutes;
    var body = document.getElementById("queue-rows");
    body.textContent = "";
    q.entries.forEach(function (e) {
      var tr = document.createElement("tr");
      if (e.urgent) tr.className = "urgent";
      cell(tr, e.token_number); urgencyCell(tr, e); cell(tr, e.mode_label);
      cell(tr, e.age + " · " + e.sex); cell(tr, e.complaint); cell(tr, e.spoke);
      cell(tr, e.route_label); cell(tr, e.waited_minutes);
      body.appendChild(tr);
    });
    if (!q.entries.length) {
      var tr = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 8; td.className = "muted"; td.textContent = q.empty_text || "";
      tr.appendChild(td); body.appendChild(tr);
    }
  }

  function refresh() {
    // An event during a read may postdate the answer in flight: read once more after it.
    if (pending) { again = true; return; }
    pending = true;
    again = false;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(render)
      .catch(function () {})
      .finally(function () { pending = false; if (again) refresh(); });
  }

  function poll() { if (!pollTimer) pollTimer = setInterval(refresh, 10000); }

  function connect() {
    if (!("WebSocket" in window)) return poll();
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try { socket = new WebSocket(scheme + location.host + wsPath); } catch (e) { return poll(); }
    socket.onopen = function () { tries = 0; poll(); };
    socket.onmessage = function (msg) {
      var ev; try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (ev.type === "consultation.assigned" && ev.consultation) {
        openConsultation(consultationUrl.replace(PLACEHOLDER, ev.consultation));
        return;
      }
      setTimeout(refresh, Math.random() * 500);
    };
    socket.onclose = function (ev) {
      poll(); tries += 1;
      // Retried for as long as the page is open (a Redis or node restart can take minutes),
      // at most every 30 s and spread out so that reconnecting pages do not arrive at once;
      // a refusal (4403: not yours, signed out) is final.
      if (!ev || ev.code !== 4403) setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(tries, 5))) * (0.5 + Math.random() / 2));
    };
  }
  connect();

  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.code !== "KeyN") return;
    var button = document.getElementById("call-next");
    if (!button) return;
    e.preventDefault();
    button.click();
  });
})();
