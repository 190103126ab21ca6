// The CHO's workspace: follows today's cases. The centre's socket (ws/centre/cases/) says at
// once when a hub doctor calls, a consultation ends or a case moves, and the page then reads
// the status feed; the feed is also read when the page regains focus, every 15 s while the
// socket is down (a closed socket costs at most 15 s) and once a minute while it is up, in
// case an event was lost. A workspace stays open all day at every centre: polling it every
// 15 s regardless would cost more than the consultations themselves. The feed is also read
// each time the socket has joined, for what was said before it did. When a live case is
// called the page shows the "Join now" banner and beeps (WebAudio, no audio file), once per call.
"use strict";
(() => {
  const root = document.getElementById("centre-workspace");
  if (!root) return;
  const list = document.getElementById("case-list");
  const banner = document.getElementById("call-banner");
  const bannerText = document.getElementById("call-banner-text");
  const bannerForm = document.getElementById("call-banner-form");
  const feedState = document.getElementById("feed-state");
  const text = root.dataset;
  const POLL_MS = 15000;
  const LIVE_POLL_MS = 60000;
  let pollTimer = null;
  function pollEvery(ms) {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = setInterval(poll, ms);
  }
  const announced = new Set();
  let audio = null;

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.45, 0.9].forEach((offset) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.25;
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.3);
      });
    } catch (_error) { /* no audio on this device: the banner still shows */ }
  }

  function row(item) {
    const li = document.createElement("li");
    li.className = "card case-row" + (item.urgent ? " urgent" : "");
    li.dataset.case = item.case;
    const h = document.createElement("h3");
    const a = document.createElement("a");
    a.href = `/centre/cases/${item.case}/`;
    a.textContent = item.patient;
    h.append(a, item.token ? ` · ${text.textToken} ${item.token}` : "");
    const p = document.createElement("p");
    p.className = "case-status";
    p.dataset.status = item.status;
    const strong = document.createElement("strong");
    strong.textContent = item.label;
    p.append(strong);
    if (item.position) {
      p.append(` · ${text.textPosition} ${item.position} · `);
      p.append(item.expected_wait_minutes ? `${item.expected_wait_minutes} ${text.textMinutes}` : text.textNoDoctor);
    }
    if (item.hub) p.append(` · ${item.hub}`);
    const meta = document.createElement("p");
    meta.className = "muted";
    meta.textContent = `${item.specialty} · ${item.mode_label}` + (item.urgent ? ` · ${text.textUrgent}` : "");
    li.append(h, meta, p);
    return li;
  }

  const LIVE = new Set(["waiting", "called", "in_consultation", "forwarded"]);
  let socket = null;
  let joined = null;
  let retryMs = 5000;

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}${text.wsPath}`);
    socket.addEventListener("message", (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "centre.joined") {
        joined = new Set(event.tickets);
        retryMs = 5000;
        pollEvery(LIVE_POLL_MS);
        poll(); // anything said before the socket joined its groups was not heard on it
        return;
      }
      if (event.type === "centre.case_sent" && joined) joined.add(event.ticket);
      if (event.type && (event.type.startsWith("ticket.") || event.type === "centre.case_sent")) poll();
    });
    socket.addEventListener("close", () => {
      joined = null;
      socket = null;
      pollEvery(POLL_MS);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 60000);
    });
  }

  function followNewCases(cases) {
    // A case sent after the socket joined its groups: join again to hear its calls too.
    if (!socket || !joined) return;
    const missing = cases.some((c) => c.ticket && LIVE.has(c.status) && !joined.has(c.ticket));
    if (missing) socket.close();
  }

  function render(cases) {
    followNewCases(cases);
    if (cases.length) list.replaceChildren(...cases.map(row));
    const calling = cases.find((c) => c.status === "called" && c.mode === "live");
    if (calling) {
      bannerForm.action = `/centre/cases/${calling.case}/join/`;
      bannerText.textContent = `${text.textCalled} ${calling.patient} (${calling.doctor})`;
      banner.hidden = false;
      const key = `${calling.case}:${calling.consultation}`;
      if (!announced.has(key)) { announced.add(key); beep(); }
    } else {
      banner.hidden = true;
    }
  }

  let busy = false;
  let again = false;
  async function poll() {
    // An event during a read may postdate the answer in flight: read once more after it.
    if (busy) { again = true; return; }
    busy = true;
    again = false;
    try {
      const response = await fetch(text.statusUrl, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      render((await response.json()).cases);
      feedState.textContent = "";
    } catch (_error) {
      feedState.textContent = text.textOffline;
    } finally {
      busy = false;
      if (again) poll();
    }
  }

  pollEvery(POLL_MS);
  window.addEventListener("focus", poll);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  window.addEventListener("online", poll);
  // The first click anywhere unlocks audio on browsers that need a gesture first.
  document.addEventListener("click", () => { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); }, { once: true });
  if ("WebSocket" in window) connect();
  poll();
})();
