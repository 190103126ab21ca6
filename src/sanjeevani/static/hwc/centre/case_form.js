// The CHO's case form, made for a centre whose connection drops: every change is kept in
// localStorage with the draft's client_key (made when the form first opened), so a dropped
// connection or a reload loses nothing; "Send" posts in the background and, when there is
// no connection, keeps the case queued and sends it when the connection comes back. The
// server treats the same client_key as the same case, so a retry never makes a second one.
// Photos are not kept offline (the CHO adds them on the case page after sending).
"use strict";
(() => {
  const form = document.getElementById("case-form");
  if (!form) return;
  const text = form.dataset;
  const key = `sanjeevani.centre.case-draft.${text.patient}`;
  const state = document.getElementById("draft-state");
  const RETRY_MS = 15000;
  let sending = false;

  function say(message) {
    state.textContent = message;
    state.hidden = !message;
  }

  function fields() {
    const values = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.name === "csrfmiddlewaretoken") continue;
      if (el.type === "checkbox" && el.name === "complaints") {
        values.complaints = values.complaints || [];
        if (el.checked) values.complaints.push(el.value);
      } else if (el.type === "checkbox") {
        values[el.name] = el.checked;
      } else if (el.type === "radio") {
        if (el.checked) values[el.name] = el.value;
      } else {
        values[el.name] = el.value;
      }
    }
    return values;
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (_e) { return null; }
  }

  function save(pending) {
    const draft = { fields: fields(), pending: Boolean(pending), savedAt: Date.now() };
    localStorage.setItem(key, JSON.stringify(draft));
    return draft;
  }

  function restore(draft) {
    for (const el of form.elements) {
      if (!el.name || !(el.name in draft.fields) || el.type === "file" || el.name === "csrfmiddlewaretoken") continue;
      const value = draft.fields[el.name];
      if (el.name === "complaints") el.checked = value.includes(el.value);
      else if (el.type === "checkbox") el.checked = Boolean(value);
      else if (el.type === "radio") el.checked = el.value === value;
      else el.value = value;
    }
  }

  function body(draft) {
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
    for (const [name, value] of Object.entries(draft.fields)) {
      if (Array.isArray(value)) value.forEach((v) => data.append(name, v));
      else if (value === true) data.append(name, "on");
      else if (value !== false) data.append(name, value);
    }
    const file = form.elements.attachment;
    if (file && file.files.length) data.append("attachment", file.files[0]);
    return data;
  }

  function showErrors(errors) {
    form.querySelectorAll(".field-errors").forEach((box) => { box.textContent = ""; });
    for (const [name, messages] of Object.entries(errors)) {
      const list = messages.map((m) => (typeof m === "string" ? m : m.message)).join(" ");
      const box = form.querySelector(`.field-errors[data-for="${name}"]`);
      if (box) box.textContent = list;
      else say(`${text.textFailed} ${list}`);
    }
  }

  async function send() {
    const draft = load();
    if (!draft || !draft.pending || sending) return;
    if (!navigator.onLine) { say(text.textQueued); return; }
    sending = true;
    say(text.textSending);
    let response;
    try {
      response = await fetch(form.action || window.location.href, {
        method: "POST",
        body: body(draft),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (_error) {
      sending = false;
      say(text.textQueued);
      return;
    }
    sending = false;
    if (response.ok) {
      const answer = await response.json();
      localStorage.removeItem(key);
      window.location.assign(answer.url);
      return;
    }
    if (response.status >= 500 || response.status === 429) { say(text.textQueued); return; }
    save(false);
    let answer = {};
    try { answer = await response.json(); } catch (_e) { /* not JSON */ }
    say(text.textFailed);
    showErrors(answer.errors || {});
  }

  // Restore the unsent draft (its client_key too), or keep the new one from the start.
  const previous = load();
  if (previous) {
    restore(previous);
    say(previous.pending ? text.textQueued : text.textRestored);
  } else {
    save(false);
  }

  form.addEventListener("input", () => save(load()?.pending));
  form.addEventListener("change", () => { save(load()?.pending); suggest(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = form.elements.attachment;
    save(true);
    if (!navigator.onLine && file && file.files.length) say(`${text.textQueued} ${text.textPhotoAgain}`);
    send();
  });
  window.addEventListener("online", send);
  setInterval(send, RETRY_MS);
  send();

  // The platform's specialty suggestion and danger signs, as the form changes.
  const suggestion = document.getElementById("suggestion");
  const reasons = document.getElementById("suggestion-reasons");
  const useIt = document.getElementById("use-suggestion");
  const danger = document.getElementById("danger");
  const dangerList = document.getElementById("danger-list");
  let suggested = null;
  let timer = null;

  function suggest() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!navigator.onLine) return;
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(fields())) {
        if (name === "complaints") value.forEach((v) => params.append(name, v));
        else if (name.startsWith("vital_") && value !== "") params.append(name, value);
      }
      try {
        const response = await fetch(`${text.suggestUrl}?${params}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return;
        const answer = await response.json();
        const select = form.elements.specialty;
        const offered = Array.from(select.options).some((o) => o.value && o.value === answer.specialty);
        suggested = offered ? answer.specialty : null;
        suggestion.textContent = answer.specialty_name
          ? `${text.textSuggested} ${answer.specialty_name}${offered ? "" : ` (${text.textNotOffered})`}`
          : "";
        reasons.replaceChildren(...answer.reasons.map((r) => Object.assign(document.createElement("li"), { textContent: r })));
        useIt.hidden = !suggested || select.value === suggested;
        dangerList.replaceChildren(...answer.danger.map((r) => Object.assign(document.createElement("li"), { textContent: r })));
        danger.hidden = answer.danger.length === 0;
        form.querySelectorAll('.field-errors[data-for^="vital_"]').forEach((box) => {
          box.textContent = answer.errors[box.dataset.for] || "";
        });
        if (!select.value && suggested) select.value = suggested;
      } catch (_error) { /* offline: the suggestion waits */ }
    }, 400);
  }
  useIt.addEventListener("click", () => {
    form.elements.specialty.value = suggested;
    useIt.hidden = true;
    save(load()?.pending);
  });
  suggest();
})();
