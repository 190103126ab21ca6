/* Waiting room: live figures over the OPD's WebSocket feed, polling /status every 10 s when
   the socket cannot connect; the call ring and the 120-second "Join now" countdown. */
(function () {
  "use strict";
  var root = document.getElementById("waiting-room");
  if (!root) return;
  var statusUrl = root.dataset.statusUrl;
  var wsPath = root.dataset.wsPath;
  var ticketId = root.dataset.ticket;
  var POLL_MS = 10000;
  var strings = {};
  var tpl = document.getElementById("opd-strings");
  if (tpl) {
    tpl.content.querySelectorAll("[data-key]").forEach(function (el) {
      strings[el.dataset.key] = el.textContent;
    });
  }
  var state = { status: root.dataset.status, key: null, position: null, asOf: NaN };
  var pollTimer = null, countdownTimer = null, ringTimer = null, audio = null;
  var socket = null, socketTries = 0, fetchPending = null;

  function $(id) { return document.getElementById(id); }
  function show(id, on) { var el = $(id); if (el) el.hidden = !on; }
  function text(id, value) { var el = $(id); if (el) el.textContent = value == null ? "–" : String(value); }
  function liveLabel(key) { text("live-label", strings[key] || key); }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      [0, 0.35].forEach(function (offset) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.25;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.25);
      });
      if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    } catch (e) { /* sound is a courtesy; the button is what matters */ }
  }

  function startRinging(secondsLeft) {
    var left = Math.max(0, Math.floor(secondsLeft == null ? 120 : secondsLeft));
    text("countdown", left);
    if (!ringTimer) { beep(); ringTimer = setInterval(beep, 2500); }
    if (countdownTimer) clearInterval(countdownTimer);
    countdownTimer = setInterval(function () {
      left -= 1;
      text("countdown", Math.max(0, left));
      if (left <= 0) { stopRinging(); refresh(); }
    }, 1000);
    if (document.title.indexOf("🔔") !== 0) document.title = "🔔 " + document.title;
  }

  function stopRinging() {
    if (ringTimer) { clearInterval(ringTimer); ringTimer = null; }
    if (countdownTimer) { clearInterval(countdownTimer); countdownTimer = null; }
    document.title = document.title.replace(/^🔔 /, "");
  }

  function render(s) {
    state.status = s.status;
    state.key = s.queue_key || state.key;
    state.position = s.position;
    state.asOf = Date.parse(s.as_of || "");
    text("position", s.position);
    text("wait", s.expected_wait_minutes);
    text("doctors-online", s.doctors_online);
    text("doctors-busy", s.doctors_busy);
    show("wait-panel", s.status === "waiting");
    show("call-panel", s.status === "called");
    show("missed-panel", s.status === "missed");
    show("rejoin-box", s.status === "missed" && s.can_rejoin);
    show("no-rejoin", s.status === "missed" && !s.can_rejoin);
    var over = ["waiting", "called", "missed"].indexOf(s.status) < 0;
    show("ended-panel", over);
    if (over) text("ended-text", s.message);
    if (s.status === "called") startRinging(s.seconds_left); else stopRinging();
    if (s.status === "in_consultation" && s.consultation_url) {
      window.location.assign(s.consultation_url);
    }
  }

  function refresh() {
    if (fetchPending) return fetchPending;
    fetchPending = fetch(statusUrl, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render)
      .catch(function () { liveLabel("offline"); })
      .finally(function () { fetchPending = null; });
    return fetchPending;
  }

  function startPolling() {
    if (pollTimer) return;
    liveLabel("polling");
    pollTimer = setInterval(refresh, POLL_MS);
  }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function before(a, b) {
    if (!a || !b) return false;
    if (a.priority !== b.priority) return a.priority < b.priority;
    return a.queued_at < b.queued_at;
  }

  /* A queue change costs this page no request: the event names the place that entered or
     left the line, and the page moves its own position (see queueing/services.py). */
  function onQueueEvent(ev) {
    if (typeof ev.doctors_online === "number") text("doctors-online", ev.doctors_online);
    if (typeof ev.doctors_busy === "number") text("doctors-busy", ev.doctors_busy);
    if (state.status !== "waiting" || ev.type !== "queue.advanced") return;
    if (!state.key || state.position == null) return refresh();
    var place = ev.ticket;
    /* A change stamped before the position was counted is in it already (an event can
       reach the page after the status it raced). */
    if (Date.parse(ev.at || "") < state.asOf) place = null;
    if (place && before(place, state.key)) {
      if (ev.change === "joined" || ev.change === "returned") state.position += 1;
      else if (ev.change === "left" || ev.change === "claimed") state.position = Math.max(1, state.position - 1);
    }
    text("position", state.position);
    var mean = ev.mean_consultation_seconds;
    if (typeof mean === "number") {
      text("wait", ev.doctors_online > 0 ? Math.max(1, Math.round(state.position * mean / ev.doctors_online / 60)) : null);
    }
  }

  function connect() {
    if (!("WebSocket" in window) || !wsPath) return startPolling();
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var sep = wsPath.indexOf("?") < 0 ? "?" : "&";
    try {
      socket = new WebSocket(scheme + location.host + wsPath + sep + "ticket=" + encodeURIComponent(ticketId));
    } catch (e) { return startPolling(); }
    socket.onopen = function () { socketTries = 0; stopPolling(); liveLabel("live"); refresh(); };
    socket.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      var type = ev.type || "";
      if (type === "queue.advanced" || type === "presence.changed") onQueueEvent(ev);
      else if (type.indexOf("ticket.") === 0 || type.indexOf("consultation.") === 0) refresh();
      else if (type === "status" && ev.status) render(ev);
    };
    socket.onclose = function (ev) {
      startPolling();
      socketTries += 1;
      // Retried for as long as the page is open (a Redis or node restart can take minutes),
      // at most every 30 s and spread out so that reconnecting pages do not arrive at once;
      // a refusal (4403: not yours, signed out) is final.
      if (!ev || ev.code !== 4403) setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(socketTries, 5))) * (0.5 + Math.random() / 2));
    };
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  document.addEventListener("click", function () { if (audio && audio.state === "suspended") audio.resume(); });
  if (state.status === "called") startRinging(parseInt(root.dataset.secondsLeft, 10) || 120);
  connect();
  refresh();
})();
