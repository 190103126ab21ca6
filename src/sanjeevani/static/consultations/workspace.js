/* The doctor's consultation workspace: every step (identity, prescription, hold, end,
   dropped) is sent in the background so the call in the room panel is never torn down;
   the consultation's state arrives live on the doctor's socket (ws/doctor/queue/) and is
   shown at once; an ended consultation leaves one state: forms off, "Next patient" on.
   Keys: Alt+N next patient, Alt+E end, Alt+I issue the prescription. */
(function () {
  "use strict";
  var root = document.getElementById("workspace");
  if (!root) return;
  var state = JSON.parse(document.getElementById("workspace-state").textContent);
  var texts = JSON.parse(document.getElementById("workspace-texts").textContent);
  var statusEl = document.getElementById("consultation-status");
  var outcome = document.getElementById("id_outcome");
  var outcomeTouched = false;
  var CLINICAL = ["prescription", "advice_only", "referred"];
  var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";

  function fmt(s, values) { return s.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; }); }
  function byId(id) { return document.getElementById(id); }
  function outcomeLabel(value) { return (texts.outcomes[value] || value || "").toLowerCase(); }

  /* ---- the state, said once ---------------------------------------------------------- */
  function statusLine(s) {
    var key = s.status;
    if (s.status === "ended") key = s.reason && texts["ended_" + s.reason] ? "ended_" + s.reason : "ended";
    return fmt(texts[key] || "", { outcome: outcomeLabel(s.outcome) });
  }

  function setHidden(el, hidden) { if (el) el.hidden = hidden; }

  function apply(next) {
    var was = state.status;
    Object.keys(next || {}).forEach(function (k) { if (next[k] !== undefined && k !== "type") state[k] = next[k]; });
    root.dataset.status = state.status;
    statusEl.dataset.status = state.status;
    var line = statusLine(state);
    if (statusEl.textContent !== line) statusEl.textContent = line;
    setHidden(byId("hold"), state.status !== "in_progress");
    setHidden(byId("resume"), state.status !== "on_hold");
    if (outcome && !outcomeTouched) {
      if (state.status === "calling") outcome.value = "no_show";
      else if (state.has_prescription) outcome.value = "prescription";
      else if (was === "calling" || outcome.value === "no_show") outcome.value = "advice_only";
    }
    if (state.status === "ended") ended();
  }

  function ended() {
    var focusWasInside = root.contains(document.activeElement) && document.activeElement !== byId("next-patient");
    ["record-editor", "rx-form", "identity-form", "consultation-mode"].forEach(function (id) {
      var el = byId(id);
      if (el) el.setAttribute("inert", "");
    });
    ["end-form", "hold-form", "dropped-form"].forEach(function (id) { setHidden(byId(id), true); });
    setHidden(byId("next-form"), false);
    if (focusWasInside || document.activeElement === document.body) byId("next-patient").focus();
  }

  /* ---- sending a step in the background ---------------------------------------------- */
  function clearErrors(form) {
    var box = form.querySelector("[data-el=error]");
    if (box) box.textContent = "";
    form.querySelectorAll(".ws-field-error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showError(form, body) {
    var box = form.querySelector("[data-el=error]") || byId("rx-result");
    var fields = (body && body.fields) || {};
    Object.keys(fields).forEach(function (name) {
      var field = form.elements[name] || (name === "diagnoses" ? byId("icd-search") : null);
      if (!field || !field.parentNode || !field.setAttribute) return;
      field.setAttribute("aria-invalid", "true");
      var note = document.createElement("span");
      note.className = "field-error ws-field-error";
      note.textContent = [].concat(fields[name]).join(" ");
      field.parentNode.insertBefore(note, field.nextSibling);
    });
    if (box) box.textContent = (body && body.error) || texts.network;
  }

  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    clearErrors(form);
    form.setAttribute("aria-busy", "true");
    return fetch(form.action, {
      method: "POST", credentials: "same-origin", body: data,
      headers: { Accept: "application/json", "X-CSRFToken": csrf }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; });
    }).catch(function () {
      return { ok: false, body: { error: texts.network } };
    }).then(function (res) {
      form.removeAttribute("aria-busy");
      if (res.body.state) apply(res.body.state);
      if (!res.ok) showError(form, res.body);
      return res;
    });
  }

  var after = {
    identity: function (body) {
      byId("identity-body").innerHTML = body.html.identity;
    },
    prescribe: function (body, form) {
      var issued = byId("rx-issued");
      if (issued && body.html.issued) issued.outerHTML = body.html.issued;
      byId("rx-result").textContent = body.message;
      var rows = form.querySelectorAll(".rx-item");
      for (var i = rows.length - 1; i > 0; i--) rows[i].remove();
      form.querySelectorAll("input:not([type=hidden]):not([type=checkbox]), input[type=hidden]").forEach(function (el) {
        if (el.name !== "csrfmiddlewaretoken") el.value = "";
      });
      form.querySelectorAll(".rx-resolved").forEach(function (el) { el.remove(); });
      var key = form.querySelector("input[name=client_key]");
      if (key && body.next_client_key) key.value = body.next_client_key;
    },
    dropped: function (body) { byId("consultation-status").textContent = statusLine(state) + " " + body.message; }
  };

  function identityFirst(form) {
    var box = form.querySelector("[data-el=error]");
    if (box) box.textContent = texts.identity_first;
    var first = document.querySelector("#identity-form input:not([type=hidden])");
    if (first) { first.scrollIntoView({ block: "center" }); first.focus(); }
  }

  function submitStep(form, submitter) {
    var kind = form.dataset.wsAction;
    if (form.getAttribute("aria-busy") === "true") return;
    if (kind === "end") {
      clearErrors(form);
      if (CLINICAL.indexOf(outcome.value) >= 0 && !state.identity_confirmed) return identityFirst(form);
      if (!window.confirm(fmt(texts.confirm_end, { outcome: outcomeLabel(outcome.value) }))) return;
    }
    send(form, submitter).then(function (res) {
      if (res.ok && after[kind]) after[kind](res.body, form);
    });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.dataset || !form.dataset.wsAction) return;
    e.preventDefault();
    submitStep(form, e.submitter);
  });
  if (outcome) outcome.addEventListener("change", function () { outcomeTouched = true; });

  /* The room panel's own "End consultation" is the same one ending, with the same outcome. */
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-room] [data-action=end]");
    if (!button) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var form = byId("end-form");
    if (form && !form.hidden) submitStep(form, null);
  }, true);

  /* ---- keys ------------------------------------------------------------------------- */
  function press(id) {
    var el = byId(id);
    if (!el || el.closest("[hidden]") || el.closest("[inert]") || el.disabled) return false;
    el.focus();
    el.click();
    return true;
  }
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var done = false;
    if (e.code === "KeyN") {
      done = press("next-patient");
      if (!done && state.status !== "ended") {
        var box = document.querySelector("#end-form [data-el=error]");
        if (box) box.textContent = texts.end_first;
        done = true;
      }
    } else if (e.code === "KeyE") done = press("end-consultation");
    else if (e.code === "KeyI") done = press("issue-prescription");
    if (done) e.preventDefault();
  });

  /* ---- live: the doctor's socket, and asking the page when it cannot connect ---------- */
  var pollTimer = null, tries = 0;
  function refresh() {
    fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && j.state) apply(j.state); })
      .catch(function () {});
  }
  function poll(on) {
    if (on && !pollTimer && state.status !== "ended") pollTimer = setInterval(refresh, 15000);
    if (!on && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }
  function connect() {
    if (!("WebSocket" in window) || state.status === "ended") return poll(true);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try { socket = new WebSocket(scheme + location.host + root.dataset.wsPath); } catch (err) { return poll(true); }
    socket.onopen = function () { tries = 0; poll(false); root.dataset.live = "1"; refresh(); };
    socket.onmessage = function (msg) {
      var ev; try { ev = JSON.parse(msg.data); } catch (err) { return; }
      if (ev.type === "consultation.status" && ev.consultation === state.consultation) apply(ev);
    };
    socket.onclose = function () {
      root.dataset.live = "0";
      if (state.status === "ended") return;
      poll(true); tries += 1;
      setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, tries)));
    };
  }
  connect();

  /* The room may learn first that the consultation ended (its own socket): ask the page. */
  var panel = document.querySelector("[data-room]");
  if (panel && window.MutationObserver) {
    new MutationObserver(function () {
      if (panel.dataset.state === "ended" && state.status !== "ended") refresh();
    }).observe(panel, { attributes: true, attributeFilter: ["data-state"] });
  }

  /* ---- two columns that each scroll, below whatever sits above them ------------------ */
  var columns = document.querySelector(".ws-columns");
  function fit() {
    if (columns) root.style.setProperty("--ws-top", Math.ceil(columns.getBoundingClientRect().top + window.scrollY) + "px");
  }
  window.addEventListener("resize", fit);
  fit();
  apply({});
})();
