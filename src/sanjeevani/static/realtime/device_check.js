/* Device check for the waiting page: camera preview, microphone level, a speaker test tone
 * and a measured connection (round trip and download speed against the server).
 * A poor result is remembered so that the room starts in low-bandwidth mode. */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var box = document.querySelector("[data-device-check]");
  if (!box) return;
  var el = function (name) { return box.querySelector('[data-el="' + name + '"]'); };
  var audio = null;

  function audioContext() {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    return audio;
  }

  async function startDevices() {
    var status = el("devices");
    try {
      var stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      el("preview").srcObject = stream;
      var source = audioContext().createMediaStreamSource(stream);
      var analyser = audio.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser);
      var samples = new Float32Array(analyser.fftSize);
      (function meter() {
        analyser.getFloatTimeDomainData(samples);
        var sum = 0;
        for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
        el("mic-level").value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
        requestAnimationFrame(meter);
      })();
      status.textContent = gettext("Camera and microphone work. Speak: the bar should move.");
      box.dataset.devices = "ok";
    } catch (err) {
      status.textContent = err && err.name === "NotAllowedError"
        ? gettext("The browser blocked the camera or microphone. Allow them in the address bar and try again.")
        : gettext("No camera or microphone found. You can still consult by chat.");
      box.dataset.devices = "failed";
    }
  }

  function playTone() {
    var ctx = audioContext();
    var osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 440;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 1);
    el("devices").textContent = gettext("Did you hear a tone? If not, turn the volume up or plug in earphones.");
  }

  var lang = document.documentElement.lang || undefined;
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\((\w+)\)s/g, function (_, key) { return String(obj[key]); });
  };

  function number(value, digits) {
    try {
      return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
    } catch (err) {
      return value.toFixed(digits);
    }
  }

  /* A speed a person can read: "about 1.5 Mbit/s", "about 400 kbit/s"; a local test
     (hundreds of Mbit/s) reads "more than 10 Mbit/s" rather than a meaningless figure. */
  function speedWords(kbps) {
    if (kbps >= 10000) return gettext("more than 10 Mbit/s");
    if (kbps >= 1000) return interpolate(gettext("about %(n)s Mbit/s"), { n: number(kbps / 1000, 1) }, true);
    return interpolate(gettext("about %(n)s kbit/s"), { n: number(Math.round(kbps / 10) * 10, 0) }, true);
  }

  function delayWords(ms) {
    if (ms < 50) return gettext("very short");
    if (ms >= 1000) return interpolate(gettext("%(n)s seconds"), { n: number(ms / 1000, 1) }, true);
    return interpolate(gettext("%(n)s ms"), { n: number(Math.round(ms / 10) * 10, 0) }, true);
  }

  async function timeFetch(bytes) {
    var started = performance.now();
    var response = await fetch(box.dataset.probeUrl + "?bytes=" + bytes + "&r=" + Math.random(),
                               { cache: "no-store", credentials: "same-origin" });
    var body = await response.arrayBuffer();
    return { ms: performance.now() - started, bytes: body.byteLength };
  }

  async function testNetwork() {
    var out = el("network");
    out.textContent = gettext("Measuring your connection…");
    el("network-detail").textContent = "";
    try {
      var rtts = [];
      for (var i = 0; i < 5; i++) rtts.push((await timeFetch(64)).ms);
      rtts.sort(function (a, b) { return a - b; });
      var rtt = rtts[2];
      var big = await timeFetch(262144);
      var kbps = (big.bytes * 8) / Math.max(big.ms - rtt, 1);
      var level = rtt < 300 && kbps > 1000 ? "good" : rtt < 800 && kbps > 300 ? "fair" : "poor";
      box.dataset.network = level;
      box.dataset.kbps = String(Math.round(kbps));
      sessionStorage.setItem("sanjeevani.lowBandwidth", level === "poor" ? "1" : "0");
      out.textContent = {
        good: gettext("Your connection is good enough for video."),
        fair: gettext("Your connection is fair: video may look blurred. If the picture freezes, choose Audio only."),
        poor: gettext("Your connection is weak: audio only is recommended. The call will start without video.")
      }[level];
      el("network-detail").textContent = interpolate(
        gettext("Measured: speed %(speed)s, delay %(delay)s."),
        { speed: speedWords(kbps), delay: delayWords(rtt) }, true);
    } catch (err) {
      box.dataset.network = "failed";
      out.textContent = gettext("Could not reach the server. Check your internet connection.");
    }
  }

  box.addEventListener("click", function (e) {
    var action = e.target.closest("[data-action]");
    if (!action) return;
    ({ start: startDevices, tone: playTone, network: testNetwork })[action.dataset.action]();
  });
})();
