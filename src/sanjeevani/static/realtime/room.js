/* Sanjeevani consultation room: WebRTC video/audio between the participants, chat and files.
 * The server only relays signalling (docs/realtime.md); media goes browser to browser.
 * Vanilla JS, no build step. Mounted on the element with [data-room] (realtime/_room_panel.html). */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var fmt = window.interpolate
    ? function (s, values) { return window.interpolate(s, values, true); }
    : function (s, values) { return s.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; }); };
  var panel = document.querySelector("[data-room]");
  if (!panel) return;

  var cfg = panel.dataset;
  var el = function (name) { return panel.querySelector('[data-el="' + name + '"]'); };
  /* A step asks too much of the link past LIMITS (a "poor" sample for it); the link must stay
     under FITS before the step above is tried again. Full video needs a round trip under
     500 ms (a 300 ms, 250 kbit/s mobile link measures about 630 ms); lower video holds on
     up to 800 ms; audio only is the floor. */
  var LIMITS = {
    normal: { rtt: 0.5, loss: 0.08, bitrate: 120000 },
    "low-video": { rtt: 0.8, loss: 0.1, bitrate: 120000 }
  };
  var FITS = { normal: { rtt: 0.3, loss: 0.03 }, "low-video": { rtt: 0.5, loss: 0.03 } };
  /* What this page sends, from full video down to audio only. On a weak link the room steps
     down one step after STEP_DOWN_SAMPLES poor samples in a row (about 6 s), and back up one
     step after STEP_UP_SAMPLES good ones (about 10 s): one bad moment changes nothing, and
     a link that just came back has to stay good before the picture grows again. */
  var STEPS = ["normal", "low-video", "audio-only"];
  var LOW_VIDEO = { maxBitrate: 150000, scaleResolutionDownBy: 2, maxFramerate: 15 };
  var STEP_DOWN_SAMPLES = 3;
  var STEP_UP_SAMPLES = 5;
  var sessionKey = "sanjeevani.room." + cfg.consultation;
  var state = {
    ws: null, me: null, ended: false, stopped: false, reconnectDelay: 1000,
    session: sessionStorage.getItem(sessionKey + ".session") || Math.random().toString(36).slice(2, 14),
    peers: new Map(),                 // user_id -> peer
    stream: null, facing: "user", iceServers: [], lastSeq: 0, onHold: false,
    muted: false, cameraOff: false, audioOnly: false,
    // step: what we send now; autoStep: what the link calls for; manual: the step the
    // person chose with a button (null: follow the link). A poor device check starts lowered.
    step: "normal", manual: null,
    autoStep: sessionStorage.getItem("sanjeevani.lowBandwidth") === "1" ? "low-video" : "normal",
    poorRun: 0, goodRun: 0, messages: new Map(), pending: new Map()
  };
  sessionStorage.setItem(sessionKey + ".session", state.session);

  function setStatus(text, kind) {
    var box = el("status");
    box.textContent = text;
    box.dataset.kind = kind || "info";
  }
  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  /* ---- local media ---------------------------------------------------------------- */
  async function startMedia() {
    var video = { facingMode: state.facing, width: { ideal: 640 }, height: { ideal: 360 } };
    var tries = [{ audio: true, video: video }, { audio: true, video: false }];
    for (var i = 0; i < tries.length; i++) {
      try {
        state.stream = await navigator.mediaDevices.getUserMedia(tries[i]);
        break;
      } catch (err) { state.stream = null; }
    }
    if (!state.stream) setStatus(gettext("No camera or microphone: you can still chat."), "warn");
    el("local").srcObject = state.stream;
    panel.dataset.linkStep = state.autoStep;
    applyStep(state.autoStep, true);
  }
  function videoTrack() { return state.stream && state.stream.getVideoTracks()[0]; }
  function audioTrack() { return state.stream && state.stream.getAudioTracks()[0]; }
  function videoSenders() {
    var senders = [];
    state.peers.forEach(function (p) {
      p.pc.getTransceivers().forEach(function (tr) {
        if (tr.receiver.track && tr.receiver.track.kind === "video") senders.push(tr.sender);
      });
    });
    return senders;
  }
  function shareMediaState() {
    send({ type: "media-state", audio: !state.muted, video: !state.cameraOff && !state.audioOnly,
           audio_only: state.audioOnly });
  }
  /* Tell the others our step when it is not full video (a newcomer, or after a rejoin). */
  function shareStep() {
    if (state.step !== "normal") send({ type: "quality-step", step: state.step, automatic: !state.manual });
  }
  function applyTrackStates() {
    var a = audioTrack(), v = videoTrack();
    if (a) a.enabled = !state.muted && !state.onHold;
    if (v) v.enabled = !state.cameraOff && !state.onHold;
    videoSenders().forEach(function (s) { s.replaceTrack(state.audioOnly ? null : v || null); });
    panel.querySelectorAll(".remote video").forEach(function (video) { video.muted = state.onHold; });
    panel.dataset.audioOnly = state.audioOnly ? "1" : "0";
  }
  /* Lower video: a bitrate cap, half the resolution and fewer frames (setParameters, so the
     call is not negotiated again); full video takes the limits off. */
  async function tuneVideo() {
    var low = state.step === "low-video";
    for (var sender of videoSenders()) {
      var params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) continue;
      params.encodings.forEach(function (enc) {
        if (low) Object.assign(enc, LOW_VIDEO);
        else { delete enc.maxBitrate; delete enc.maxFramerate; enc.scaleResolutionDownBy = 1; }
      });
      try { await sender.setParameters(params); } catch (err) { /* not yet negotiated */ }
    }
  }
  /* Send at `step`, show it on the panel and its buttons, and tell the others (quality-step,
     docs/realtime.md) so that their page can say why the picture changed. */
  function applyStep(step, automatic) {
    var changed = step !== state.step;
    state.step = step;
    state.audioOnly = step === "audio-only";
    applyTrackStates();
    tuneVideo();
    panel.dataset.qualityStep = step;
    panel.dataset.qualityAuto = state.manual ? "0" : "1";
    panel.dataset.lowBandwidth = step === "normal" ? "0" : "1";
    el("audio-only").setAttribute("aria-pressed", String(step === "audio-only"));
    el("low-bandwidth").setAttribute("aria-pressed", String(step === "low-video"));
    el("auto-quality").setAttribute("aria-pressed", String(!state.manual));
    if (!changed) return;
    shareMediaState();
    send({ type: "quality-step", step: step, automatic: automatic });
  }
  function announce(text) {
    var box = el("adapt");
    box.textContent = text;
    box.hidden = false;
  }
  var OWN_STEP_WORDS = {
    down: { "low-video": gettext("Your connection is weak: video lowered."),
            "audio-only": gettext("Switched to audio only to keep the call going.") },
    up: { "low-video": gettext("Your connection is better: video is back, at lower quality."),
          normal: gettext("Your connection has recovered: full video is back.") },
    manual: { normal: gettext("You chose full video: the call will not lower it by itself."),
              "low-video": gettext("You chose low-bandwidth mode."),
              "audio-only": gettext("You chose audio only.") }
  };
  var PEER_STEP_WORDS = {
    down: { "low-video": gettext("%(name)s's connection is weak: their video was lowered."),
            "audio-only": gettext("%(name)s's connection is weak: switched to audio only to keep the call going.") },
    up: { "low-video": gettext("%(name)s's connection is better: their video is back, at lower quality."),
          normal: gettext("%(name)s's connection has recovered: full video is back.") },
    manual: { normal: gettext("%(name)s turned full video back on."),
              "low-video": gettext("%(name)s chose low-bandwidth mode."),
              "audio-only": gettext("%(name)s chose audio only.") }
  };
  function stepWords(words, from, to, automatic) {
    if (!automatic) return words.manual[to];
    return STEPS.indexOf(to) > STEPS.indexOf(from) ? words.down[to] : words.up[to];
  }
  /* One poor or recovered sample of the link: a step down or up once the run is long enough.
     A person's choice (state.manual) wins: the link is still followed, but not acted on. */
  function adaptToLink(sample) {
    if (sample === null) return;      // nothing measured this time: the runs stay as they are
    state.poorRun = sample === "poor" ? state.poorRun + 1 : 0;
    state.goodRun = sample === "recovered" ? state.goodRun + 1 : 0;
    var at = STEPS.indexOf(state.autoStep), next = null;
    if (state.poorRun >= STEP_DOWN_SAMPLES && at < STEPS.length - 1) next = STEPS[at + 1];
    else if (state.goodRun >= STEP_UP_SAMPLES && at > 0) next = STEPS[at - 1];
    if (!next) return;
    state.poorRun = 0; state.goodRun = 0;
    var from = state.autoStep;
    state.autoStep = next;
    panel.dataset.linkStep = next;
    console.debug("room: link calls for", next);
    if (state.manual) {
      if (STEPS.indexOf(next) > STEPS.indexOf(state.step)) {
        announce(gettext("Your connection is weak. Choose “Adjust to the connection” to let the call lower the video by itself."));
      }
      return;
    }
    applyStep(next, true);
    announce(stepWords(OWN_STEP_WORDS, from, next, true));
  }
  function chooseStep(step) {
    var from = state.step;
    state.manual = step;
    applyStep(step, false);
    if (step !== from) announce(OWN_STEP_WORDS.manual[step]);
  }
  async function switchCamera() {
    var old = videoTrack();
    if (!old) return;
    state.facing = state.facing === "user" ? "environment" : "user";
    try {
      var fresh = await navigator.mediaDevices.getUserMedia({ video: { facingMode: state.facing } });
      var track = fresh.getVideoTracks()[0];
      state.stream.removeTrack(old); old.stop(); state.stream.addTrack(track);
      el("local").srcObject = state.stream;
      applyTrackStates();
    } catch (err) { setStatus(gettext("Could not switch the camera."), "warn"); }
  }

  /* ---- peers (perfect negotiation, one RTCPeerConnection per other participant) ---- */
  function peerFor(member, create) {
    var peer = state.peers.get(member.user_id);
    if (peer && member.session && peer.session && peer.session !== member.session) {
      closePeer(peer);                // they reloaded: their old connection is gone
      peer = null;
    }
    if (peer) { peer.peerId = member.peer_id; peer.session = member.session || peer.session; return peer; }
    if (!create) return null;
    var pc = new RTCPeerConnection({ iceServers: state.iceServers,
                                     iceTransportPolicy: cfg.relayOnly === "1" ? "relay" : "all" });
    peer = { user: member, peerId: member.peer_id, session: member.session, pc: pc,
             polite: state.me.user_id < member.user_id, makingOffer: false, ignoreOffer: false,
             box: remoteBox(member), stats: null, restartTimer: null,
             candidates: { sent: 0, received: 0, refused: 0 },
             stallSpread: Math.random() * 4000 };
    peer.box.dataset.qualityStep = member.qualityStep || "normal";
    state.peers.set(member.user_id, peer);
    if (state.stream) state.stream.getTracks().forEach(function (tr) { pc.addTrack(tr, state.stream); });
    if (!audioTrack()) pc.addTransceiver("audio", { direction: "recvonly" });
    if (!videoTrack()) pc.addTransceiver("video", { direction: "recvonly" });
    pc.onnegotiationneeded = async function () {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        send({ type: pc.localDescription.type, to: peer.peerId, sdp: pc.localDescription.sdp });
      } catch (err) { console.warn("negotiation", err); } finally { peer.makingOffer = false; }
    };
    pc.onicecandidate = function (e) {
      if (!e.candidate) return;
      peer.candidates.sent++;
      send({ type: "ice-candidate", to: peer.peerId, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = function (e) {
      var video = peer.box.querySelector("video");
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      video.play().catch(function () {
        setStatus(gettext("Tap the video to start the sound."), "warn");
        video.controls = true;
      });
    };
    pc.oniceconnectionstatechange = function () { onIceState(peer); };
    pc.onconnectionstatechange = function () {
      console.debug("room: call with", member.user_id, pc.connectionState);
      peer.box.dataset.state = pc.connectionState;
      if (pc.connectionState === "connected") {
        setStatus(gettext("Connected."), "ok");
        tuneVideo();
      }
      countConnected();
    };
    return peer;
  }
  function onIceState(peer) {
    var s = peer.pc.iceConnectionState;
    clearTimeout(peer.restartTimer);
    if (s === "failed") restartIce(peer);
    else if (s === "disconnected") {
      setStatus(gettext("Connection unstable: reconnecting…"), "warn");
      peer.restartTimer = setTimeout(function () {
        if (peer.pc.iceConnectionState === "disconnected") restartIce(peer);
      }, 3000);
    }
  }
  function restartIce(peer, quiet) {
    if (peer.pc.signalingState === "closed") return;
    if (!quiet) setStatus(gettext("Reconnecting the call…"), "warn");
    peer.pc.restartIce();
    send({ type: "ice-restart", to: peer.peerId });
  }
  /* A call that has not connected within STALL_MS is negotiated again: an offer or answer
     lost while a socket reconnected, or a stalled ICE check, would otherwise leave both
     people looking at an empty tile. A member whose offer never came gets ours. Each call
     waits a little more at random, so two pages that started together do not restart each
     other in step. */
  var STALL_MS = 10000;
  function watchCalls() {
    if (!state.ws || !state.me || state.ended || state.stopped) return;
    var now = Date.now();
    state.present.forEach(function (member) {
      var peer = state.peers.get(member.user_id);
      if (!peer) {
        member.seenAt = member.seenAt || now;
        if (now - member.seenAt > STALL_MS) {
          console.debug("room: no offer from", member.user_id, "- offering");
          peerFor(member, true);
        }
        return;
      }
      if (peer.pc.connectionState === "connected") { peer.stalledSince = null; return; }
      peer.stalledSince = peer.stalledSince || now;
      if (now - peer.stalledSince > STALL_MS + peer.stallSpread) {
        peer.stalledSince = now;
        console.debug("room: call with", member.user_id, "stalled in", peer.pc.connectionState,
                      peer.pc.signalingState, "- negotiating again;", describeCall(peer));
        renegotiate(peer);
      }
    });
  }
  /* What a stalled call had: enough to tell a lost description from missing candidates. */
  function describeCall(peer) {
    var pc = peer.pc, c = peer.candidates;
    return "ice " + pc.iceConnectionState + ", gathering " + pc.iceGatheringState +
      ", local " + (pc.localDescription ? pc.localDescription.type : "none") +
      ", remote " + (pc.remoteDescription ? pc.remoteDescription.type : "none") +
      ", candidates sent " + c.sent + " received " + c.received + " refused " + c.refused +
      (peer.polite ? ", polite" : ", impolite");
  }
  async function renegotiate(peer) {
    if (peer.pc.signalingState === "have-local-offer") {
      try { await peer.pc.setLocalDescription({ type: "rollback" }); } catch (err) { /* answered meanwhile */ }
    }
    restartIce(peer);
  }
  setInterval(watchCalls, 2000);
  function closePeer(peer) {
    clearTimeout(peer.restartTimer);
    peer.pc.close();
    peer.box.remove();
    state.peers.delete(peer.user.user_id);
    countConnected();
  }
  function countConnected() {
    var n = 0;
    state.peers.forEach(function (p) { if (p.pc.connectionState === "connected") n++; });
    panel.dataset.connectedPeers = String(n);
  }
  function remoteBox(member) {
    var box = document.createElement("figure");
    box.className = "remote";
    box.dataset.user = member.user_id;
    var video = document.createElement("video");
    video.autoplay = true; video.playsInline = true; video.className = "remote-video";
    var caption = document.createElement("figcaption");
    caption.textContent = member.name;
    // What their page changed on its own (quality-step), said under their picture.
    var note = document.createElement("p");
    note.className = "remote-note"; note.dataset.el = "peer-note";
    note.setAttribute("role", "status"); note.setAttribute("aria-live", "polite");
    box.append(video, caption, note);
    el("remotes").append(box);
    return box;
  }
  async function onDescription(message) {
    var peer = peerFromMessage(message, message.type === "offer");
    if (!peer) return;
    var pc = peer.pc;
    var collision = message.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return;
    try {
      await pc.setRemoteDescription({ type: message.type, sdp: message.sdp });
      if (message.type === "offer") {
        await pc.setLocalDescription();
        send({ type: "answer", to: peer.peerId, sdp: pc.localDescription.sdp });
      }
    } catch (err) { console.warn("description", err); }
  }
  function peerFromMessage(message, create) {
    var member = state.present.get(message.from);
    if (!member) { console.debug("room:", message.type, "from", message.from, "who is not here - dropped"); return null; }
    return peerFor(member, create);
  }

  /* ---- connection quality, and stepping down or up on our own ------------------------- */
  /* Round-trip time over the last interval only: the change in the running totals of the
     ICE checks (candidate-pair) and of the RTCP reports about what we send
     (remote-inbound-rtp). A last value alone goes stale when its reports stop (no video
     sent, an ICE pair no longer checked) and would keep a recovered link "poor". */
  function freshRoundTrip(peer, report) {
    var totals = peer.rttTotals || {}, seen = {}, sum = 0, count = 0;
    report.forEach(function (s) {
      var total = null, n = null;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") {
        total = s.totalRoundTripTime; n = s.responsesReceived;
      } else if (s.type === "remote-inbound-rtp") {
        total = s.totalRoundTripTime; n = s.roundTripTimeMeasurements;
      }
      if (total == null || n == null) return;
      var prev = totals[s.id] || { total: 0, n: 0 };
      if (n > prev.n) { sum += total - prev.total; count += n - prev.n; }
      seen[s.id] = { total: total, n: n };
    });
    peer.rttTotals = seen;
    return count ? sum / count : null;
  }
  async function sampleQuality() {
    var worst = null;
    for (var peer of state.peers.values()) {
      if (peer.pc.connectionState !== "connected") continue;
      var report = await peer.pc.getStats();
      var q = { rtt: freshRoundTrip(peer, report), bitrate: null, lost: 0, received: 0 };
      var got = { video_frames: 0, video_bytes: 0, audio_packets: 0, audio_bytes: 0 };
      report.forEach(function (s) {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" &&
            s.availableOutgoingBitrate != null) q.bitrate = s.availableOutgoingBitrate;
        if (s.type === "inbound-rtp") {
          q.lost += s.packetsLost || 0; q.received += s.packetsReceived || 0;
          var kind = s.kind || s.mediaType;
          if (kind === "video") { got.video_frames += s.framesDecoded || 0; got.video_bytes += s.bytesReceived || 0; }
          if (kind === "audio") { got.audio_packets += s.packetsReceived || 0; got.audio_bytes += s.bytesReceived || 0; }
        }
      });
      reportReceived(peer, got);
      var prev = peer.stats || { lost: 0, received: 0 };
      var dl = q.lost - prev.lost, dr = q.received - prev.received;
      q.loss = dl + dr > 0 ? Math.max(dl, 0) / (dl + dr) : 0;
      peer.stats = q;
      if (!worst || (q.rtt || 0) > (worst.rtt || 0) || q.loss > worst.loss) worst = q;
    }
    showQuality(worst);
  }
  /* What we received from this peer, so that the server can observe the mode from both
     ends (docs/realtime.md, media-stats); sent only when it grew. */
  function reportReceived(peer, got) {
    var key = [got.video_frames, got.video_bytes, got.audio_packets, got.audio_bytes].join(",");
    if (peer.reported === key) return;
    peer.reported = key;
    send(Object.assign({ type: "media-stats", user_id: peer.user.user_id }, got));
  }
  function tooMuch(step, q, bitrate) {
    var limit = LIMITS[step];
    return !!limit && ((q.rtt != null && q.rtt > limit.rtt) || q.loss > limit.loss ||
                       (bitrate != null && bitrate < limit.bitrate));
  }
  function fits(step, q) {
    var fit = FITS[step];
    return q.rtt != null && q.rtt < fit.rtt && q.loss < fit.loss;
  }
  function showQuality(q) {
    var box = el("quality");
    if (!q) { box.textContent = ""; box.dataset.level = ""; return; }
    // The outgoing estimate only describes a link we send video over: with audio alone it
    // stays low however good the link is.
    var sending = !state.cameraOff && videoTrack() ? state.step : "audio-only";
    var bitrate = function (step) { return sending === step ? q.bitrate : null; };
    var poor = tooMuch("normal", q, bitrate("normal"));
    var fair = (q.rtt != null && q.rtt > FITS.normal.rtt) || q.loss > FITS.normal.loss ||
               (bitrate("normal") != null && q.bitrate < 400000);
    var level = poor ? "poor" : fair ? "fair" : "good";
    box.dataset.level = level;
    box.textContent = { good: gettext("Connection: good"), fair: gettext("Connection: fair"), poor: gettext("Connection: poor") }[level] +
      " · " + (q.rtt != null ? Math.round(q.rtt * 1000) + " ms" : "–") +
      " · " + fmt(gettext("%(percent)s lost"), { percent: Math.round(q.loss * 100) + "%" }) +
      (q.bitrate != null ? " · " + Math.round(q.bitrate / 1000) + " kbit/s" : "");
    // Judged against the step the link calls for now, so a chosen step changes nothing here.
    var at = state.autoStep, above = STEPS[STEPS.indexOf(at) - 1];
    if (tooMuch(at, q, bitrate(at))) adaptToLink("poor");
    else if (above && fits(above, q)) adaptToLink("recovered");
    else adaptToLink(q.rtt == null ? null : "steady");
  }
  setInterval(sampleQuality, 2000);

  /* ---- signalling connection, with reconnect and rejoin ---------------------------- */
  state.present = new Map();          // peer_id -> member
  async function connect() {
    if (state.ended || state.stopped) return;
    setStatus(gettext("Joining the room…"), "info");
    var response;
    try {
      response = await fetch(cfg.tokenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) { return retry(); }
    if (!response.ok) {
      var body = await response.json().catch(function () { return {}; });
      var message = (body.error && body.error.message) || gettext("Could not join the room.");
      if (response.status >= 400 && response.status < 500) return stop(message, response.status === 400);
      return retry();
    }
    var join = await response.json();
    state.iceServers = join.ice_servers;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + join.websocket_path + "?token=" +
                           encodeURIComponent(join.token) + "&session=" + state.session);
    state.ws = ws;
    ws.onmessage = function (e) { onMessage(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      if (state.ws !== ws) return;
      state.ws = null;
      panel.dataset.state = "disconnected";
      tellPage("room-link", { live: false });
      if (e.code === 4410) return endRoom(gettext("This consultation has ended."));
      if (e.code === 4403) return stop(gettext("You are not part of this consultation."));
      if (e.code === 4409) return stop(gettext("The room is open in another page."));
      retry();
    };
  }
  function retry() {
    if (state.ended || state.stopped) return;
    setStatus(gettext("Connection lost: reconnecting…"), "warn");
    setTimeout(connect, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 15000);
  }
  function stop(message, ended) {
    if (ended) return endRoom(message);
    state.stopped = true;
    setStatus(message, "error");
  }
  window.addEventListener("online", function () {
    state.reconnectDelay = 1000;
    if (!state.ws) connect();
    state.peers.forEach(restartIce);
  });
  /* A different network (Wi-Fi to mobile data, a weaker mobile network): the media path
     found before may be gone or slow, so a connected call looks for a new one too. */
  function networkKind() { var c = navigator.connection; return [c.type, c.effectiveType].join("/"); }
  if (navigator.connection) {
    var lastNetwork = networkKind();
    navigator.connection.addEventListener("change", function () {
      var kind = networkKind(), changed = kind !== lastNetwork;
      lastNetwork = kind;
      if (changed) console.debug("room: network is now", kind, "- looking for a new path");
      state.peers.forEach(function (p) {
        if (p.pc.connectionState !== "connected") restartIce(p);
        else if (changed) restartIce(p, true);
      });
    });
  }

  var handlers = {
    welcome: function (m) {
      state.me = m;
      state.reconnectDelay = 1000;
      panel.dataset.state = "joined";
      tellPage("room-link", { live: true });
      setStatus(gettext("Waiting for the others to join…"), "info");
      setHold(m.status === "on_hold");
      if (m.mode) handlers["consultation-mode"](m.mode);
      send({ type: "sync", after_seq: state.lastSeq });
      shareMediaState();
      shareStep();
    },
    "peer-joined": function (m) {
      state.present.set(m.peer_id, m);
      shareStep();
      var peer = peerFor(m, false);     // keep our connection if only their socket came back
      if (peer && peer.pc.connectionState !== "connected") restartIce(peer);
    },
    "peer-present": function (m) {
      state.present.set(m.peer_id, m);
      shareStep();
      var peer = peerFor(m, true);      // we arrived: we open the connection
      if (peer.pc.connectionState === "failed") restartIce(peer);
    },
    "peer-left": function (m) { state.present.delete(m.peer_id); },
    offer: onDescription,
    answer: onDescription,
    "ice-candidate": async function (m) {
      var peer = peerFromMessage(m, false);
      if (!peer || !m.candidate) return;
      peer.candidates.received++;
      try { await peer.pc.addIceCandidate(m.candidate); } catch (err) {
        peer.candidates.refused++;
        if (!peer.ignoreOffer) console.warn(err);
      }
    },
    "ice-restart": function (m) { var p = peerFromMessage(m, false); if (p) p.pc.restartIce(); },
    "media-state": function (m) {
      var member = state.present.get(m.from);
      var peer = member && state.peers.get(member.user_id);
      if (peer) { peer.box.dataset.audio = m.audio ? "on" : "off"; peer.box.dataset.video = m.video ? "on" : "off"; }
    },
    "quality-step": function (m) {
      var member = state.present.get(m.from);
      if (!member || member.qualityStep === m.step) return;
      var from = member.qualityStep || "normal";
      member.qualityStep = m.step;
      var peer = state.peers.get(member.user_id);
      var words = fmt(stepWords(PEER_STEP_WORDS, from, m.step, m.automatic), { name: member.name });
      panel.dataset.peerQualityStep = m.step;
      if (!peer) return announce(words);
      peer.box.dataset.qualityStep = m.step;
      peer.box.querySelector(".remote-note").textContent = words;
    },
    "room-state": function (m) { setHold(m.on_hold); },
    "consultation-mode": function (m) {
      panel.dataset.observedMode = m.observed_mode;
      panel.dataset.mode = m.mode;
      tellPage("consultation-mode", m);
    },
    "room-ended": function (m) { endRoom(m.message); },
    "participant-added": function (m) { setStatus(fmt(gettext("%(name)s was added to the room."), { name: m.name }), "info"); },
    "chat-message": onChatMessage,
    "chat-ack": function (m) {
      var li = state.pending.get(m.client_id);
      if (li) { state.pending.delete(m.client_id); li.remove(); }
    },
    "chat-receipt": onReceipt,
    "chat-synced": function () { markSeen(); },
    pong: function () {},
    error: function (m) { setStatus(m.message, m.fatal ? "warn" : "error"); }
  };
  function onMessage(m) { var h = handlers[m.type]; if (h) h(m); }

  function setHold(on) {
    state.onHold = on;
    panel.dataset.onHold = on ? "1" : "0";
    el("hold-banner").hidden = !on;
    applyTrackStates();
  }
  /* The page around the room (opd/consultation.js) polls its status only while the room
     is not live: the room says at once when the consultation ends. */
  function tellPage(name, detail) {
    document.dispatchEvent(new CustomEvent("sanjeevani:" + name, { detail: detail }));
  }
  function endRoom(message) {
    tellPage("room-ended", {});
    state.ended = true;
    panel.dataset.state = "ended";
    state.peers.forEach(closePeer);
    if (state.stream) state.stream.getTracks().forEach(function (tr) { tr.stop(); });
    if (state.ws) { var ws = state.ws; state.ws = null; ws.close(); }
    panel.querySelectorAll("[data-action], [data-el=chat-form] *, [data-el=file-form] *")
      .forEach(function (b) { b.disabled = true; });
    sessionStorage.removeItem(sessionKey + ".session");
    setStatus(message || gettext("This consultation has ended."), "info");
  }

  /* ---- chat and files ---------------------------------------------------------------- */
  function onChatMessage(m) {
    var li = state.messages.get(m.seq);
    if (!li) {
      li = document.createElement("li");
      li.dataset.seq = m.seq;
      var mine = m.sender.user_id === (state.me && state.me.user_id);
      li.className = mine ? "mine" : "theirs";
      var who = document.createElement("span");
      who.className = "who"; who.textContent = m.sender.name;
      var body = document.createElement("span");
      body.className = "text";
      if (m.kind === "file") {
        var a = document.createElement("a");
        a.href = m.file.url; a.textContent = m.file.name; a.target = "_blank"; a.rel = "noopener";
        body.append(a);
      } else body.textContent = m.text;
      var ticks = document.createElement("span");
      ticks.className = "ticks";
      li.append(who, body, ticks);
      li.dataset.mine = mine ? "1" : "0";
      var list = el("messages"), after = null;
      state.messages.forEach(function (other, seq) { if (seq > m.seq && (!after || seq < +after.dataset.seq)) after = other; });
      list.insertBefore(li, after);
      state.messages.set(m.seq, li);
      list.scrollTop = list.scrollHeight;
    }
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    var others = function (ids) { return ids.some(function (id) { return id !== state.me.user_id; }); };
    if (others(m.read_by)) setTick(li, "read");
    else if (others(m.delivered_to)) setTick(li, "delivered");
    else setTick(li, "sent");
    if (li.dataset.mine !== "1") markSeen();
  }
  function setTick(li, mark) {
    if (li.dataset.mine !== "1" || li.dataset.mark === "read") return;
    if (li.dataset.mark === "delivered" && mark === "sent") return;
    li.dataset.mark = mark;
    var ticks = li.querySelector(".ticks");
    ticks.textContent = mark === "sent" ? "✓" : "✓✓";
    ticks.title = { sent: gettext("Sent"), delivered: gettext("Delivered"), read: gettext("Read") }[mark];
  }
  function onReceipt(m) {
    if (state.me && m.user_id === state.me.user_id) return;
    state.messages.forEach(function (li, seq) { if (seq <= m.up_to_seq) setTick(li, m.mark); });
  }
  var seenTimer = null;
  function markSeen() {
    clearTimeout(seenTimer);
    seenTimer = setTimeout(function () {
      if (!state.lastSeq) return;
      send({ type: document.visibilityState === "visible" ? "read" : "delivered", seq: state.lastSeq });
    }, 200);
  }
  document.addEventListener("visibilitychange", markSeen);

  el("chat-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = e.target.elements.text, text = input.value.trim();
    if (!text) return;
    if (!state.ws) { setStatus(gettext("Not connected: the message was not sent. Try again in a moment."), "warn"); return; }
    var clientId = Math.random().toString(36).slice(2, 10);
    var li = document.createElement("li");
    li.className = "mine pending"; li.textContent = text;
    state.pending.set(clientId, li);
    el("messages").append(li);
    send({ type: "chat", text: text, client_id: clientId });
    input.value = "";
  });
  el("file-form").addEventListener("change", async function (e) {
    var file = e.target.files[0];
    if (!file) return;
    var data = new FormData();
    data.append("file", file);
    var csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
    setStatus(gettext("Sending the file…"), "info");
    try {
      var response = await fetch(cfg.uploadUrl, { method: "POST", body: data, credentials: "same-origin",
                                                  headers: { "X-CSRFToken": decodeURIComponent(csrf) } });
      var body = await response.json().catch(function () { return {}; });
      if (!response.ok) setStatus((body.error && body.error.message) || gettext("The file could not be sent."), "error");
      else setStatus(gettext("File sent."), "ok");
    } catch (err) { setStatus(gettext("The file could not be sent. Check the connection and try again."), "error"); }
    e.target.value = "";
  });

  /* ---- controls ------------------------------------------------------------------------ */
  var actions = {
    mute: function (b) { state.muted = !state.muted; b.setAttribute("aria-pressed", state.muted); applyTrackStates(); shareMediaState(); },
    camera: function (b) { state.cameraOff = !state.cameraOff; b.setAttribute("aria-pressed", state.cameraOff); applyTrackStates(); shareMediaState(); },
    "switch-camera": switchCamera,
    /* A step the person chooses stays until they choose another or give the choice back to
       the link ("Adjust to the connection"). */
    "audio-only": function () { chooseStep(state.step === "audio-only" ? "normal" : "audio-only"); },
    "low-bandwidth": function () { chooseStep(state.step === "low-video" ? "normal" : "low-video"); },
    "auto-quality": function () {
      if (!state.manual) return;
      state.manual = null;
      state.poorRun = 0; state.goodRun = 0;
      var from = state.step;
      applyStep(state.autoStep, true);
      announce(state.autoStep === from ? gettext("The call adjusts to your connection again.")
                                       : stepWords(OWN_STEP_WORDS, from, state.autoStep, true));
    },
    hold: function () { send({ type: "hold" }); },
    resume: function () { send({ type: "resume" }); },
    end: function () { if (window.confirm(gettext("End this consultation for everyone?"))) send({ type: "end", outcome: el("outcome").value }); }
  };
  panel.addEventListener("click", function (e) {
    var button = e.target.closest("[data-action]");
    if (button && actions[button.dataset.action]) actions[button.dataset.action](button);
  });

  startMedia().then(connect);
})();
