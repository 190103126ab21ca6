/* The doctor's record editor: autosaves as the doctor types (debounced), sending the
   revision it was read at so a save from a stale window is refused, not silently lost;
   ICD-10 search for the diagnosis; medicine search for the prescription form. */
(function () {
  "use strict";
  var form = document.getElementById("record-editor");
  var dataEl = document.getElementById("record-data");
  var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var DEBOUNCE_MS = 800;

  function debounce(fn, ms) {
    var t = null;
    return function () { var args = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, args); }, ms); };
  }

  if (form && dataEl) {
    var record = JSON.parse(dataEl.textContent);
    var revision = record.revision;
    var diagnoses = (record.diagnoses || []).slice();
    var stateEl = document.getElementById("save-state");
    var saving = false, dirty = false, retryMs = 2000, retryTimer = null;
    var draftKey = "sanjeevani-record-" + form.dataset.saveUrl;

    function say(key) { if (stateEl) stateEl.textContent = form.dataset[key] || ""; }

    /* A part the server refused keeps the doctor's text and shows why next to it; the
       other parts are saved meanwhile, and every later save sends it again. */
    function markRejected(rejected) {
      Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (el) { el.remove(); });
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
        el.removeAttribute("aria-invalid");
      });
      Object.keys(rejected || {}).forEach(function (name) {
        var field = form.elements[name] || (name === "diagnoses" ? document.getElementById("icd-search") : null);
        if (!field || !field.parentNode) return;
        field.setAttribute("aria-invalid", "true");
        var note = document.createElement("span");
        note.className = "field-error";
        note.setAttribute("role", "alert");
        note.textContent = [].concat(rejected[name]).join(" ");
        field.parentNode.insertBefore(note, field.nextSibling);
      });
    }

    function fill(r) {
      ["complaints", "history", "findings", "investigations", "advice", "follow_up_on", "referral"].forEach(function (name) {
        if (form.elements[name]) form.elements[name].value = r[name] || "";
      });
      Array.prototype.forEach.call(form.querySelectorAll("[name^='vitals.']"), function (el) {
        var value = (r.vitals || {})[el.name.slice(7)];
        el.value = value === undefined || value === null ? "" : value;
      });
      diagnoses = (r.diagnoses || []).slice();
      drawDiagnoses();
    }

    function collect() {
      var data = { base_revision: revision, vitals: {}, diagnoses: diagnoses };
      ["complaints", "history", "findings", "investigations", "advice", "follow_up_on", "referral"].forEach(function (name) {
        if (form.elements[name]) data[name] = form.elements[name].value;
      });
      if (!data.follow_up_on) data.follow_up_on = null;
      Array.prototype.forEach.call(form.querySelectorAll("[name^='vitals.']"), function (el) {
        if (el.value.trim()) data.vitals[el.name.slice(7)] = el.value.trim();
      });
      return data;
    }

    function save() {
      if (saving) { dirty = true; return; }
      saving = true; dirty = false;
      clearTimeout(retryTimer);
      var body = collect();
      try { localStorage.setItem(draftKey, JSON.stringify(body)); } catch (e) {}
      say("saving");
      fetch(form.dataset.saveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
      }).then(function (res) {
        saving = false;
        if (res.status === 200) {
          revision = res.body.revision; retryMs = 2000;
          markRejected(res.body.rejected);
          if (res.body.rejected) {
            body.base_revision = revision;
            try { localStorage.setItem(draftKey, JSON.stringify(body)); } catch (e) {}
            say("partlySaved");
          } else {
            try { localStorage.removeItem(draftKey); } catch (e) {}
            say("saved");
          }
          if (dirty) save();
        } else if (res.status === 409 && res.body.record) {
          revision = res.body.record.revision;
          markRejected(null);
          fill(res.body.record);
          say("stale");
        } else if (res.status >= 400 && res.status < 500) {
          if (stateEl) stateEl.textContent = res.body.error || form.dataset.retrying;
        } else { throw new Error(res.status); }
      }).catch(function () {
        saving = false;
        say("retrying");
        retryTimer = setTimeout(save, retryMs);
        retryMs = Math.min(30000, retryMs * 2);
      });
    }

    var saveSoon = debounce(save, DEBOUNCE_MS);
    form.addEventListener("input", function (ev) { if (ev.target.id !== "icd-search") saveSoon(); });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); save(); });
    window.addEventListener("beforeunload", function () { if (dirty || saving) save(); });

    /* ICD-10 diagnosis search */
    var search = document.getElementById("icd-search");
    var results = document.getElementById("icd-results");
    var chosen = document.getElementById("diagnoses");

    function drawDiagnoses() {
      if (!chosen) return;
      chosen.textContent = "";
      diagnoses.forEach(function (d, i) {
        var li = document.createElement("li");
        li.textContent = d.code + " " + d.label + " ";
        var x = document.createElement("button");
        x.type = "button"; x.textContent = "×";
        x.setAttribute("aria-label", (form.dataset.remove || "Remove") + " " + d.code);
        x.addEventListener("click", function () { diagnoses.splice(i, 1); drawDiagnoses(); save(); });
        li.appendChild(x); chosen.appendChild(li);
      });
    }

    if (search && results) {
      search.addEventListener("input", debounce(function () {
        var q = search.value.trim();
        results.textContent = "";
        if (q.length < 2) return;
        fetch(form.dataset.icdUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (j) {
            results.textContent = "";
            (j.results || []).forEach(function (d) {
              var li = document.createElement("li"), b = document.createElement("button");
              b.type = "button"; b.className = "icd-option"; b.textContent = d.code + " " + d.label;
              b.addEventListener("click", function () {
                if (!diagnoses.some(function (x) { return x.code === d.code; })) diagnoses.push({ code: d.code, label: d.label });
                results.textContent = ""; search.value = "";
                drawDiagnoses(); save();
              });
              li.appendChild(b); results.appendChild(li);
            });
          }).catch(function () {});
      }, 250));
    }

    fill(record);
    try {
      var draft = JSON.parse(localStorage.getItem(draftKey) || "null");
      if (draft && draft.base_revision === revision) { fill(draft); save(); }
    } catch (e) {}
  }

  /* Prescription form: catalogue search with free entry, and more rows */
  var rx = document.getElementById("rx-form");
  if (!rx) return;
  var list = document.getElementById("medicine-options");
  var found = {};

  function label(m) { return [m.generic_name, m.form, m.strength].filter(Boolean).join(" "); }

  /* What a typed (free-entry) name resolves to, and the rule that applies, shown under the
     field as the doctor types: the server resolves brands, misspellings and other scripts
     (GET .../medicines/resolve/) and words the rule; suggestions fill the field. */
  var resolveUrl = rx.dataset.resolveUrl || (rx.dataset.searchUrl + "resolve/");
  var resolving = 0;

  function noteFor(input) {
    var field = input.closest("label") || input;
    var note = field.nextElementSibling;
    if (!note || !note.classList.contains("rx-resolved")) {
      note = document.createElement("p");
      note.className = "rx-resolved";
      note.setAttribute("aria-live", "polite");
      field.parentNode.insertBefore(note, field.nextSibling);
    }
    return note;
  }

  function showResolution(input, q) {
    var note = noteFor(input);
    if (found[input.value]) {
      /* The whole name, form and strength of the chosen medicine: tablet and syrup differ. */
      note.textContent = "";
      note.dataset.status = "chosen";
      var chosen = document.createElement("strong");
      chosen.className = "rx-generic";
      chosen.textContent = "✓ " + input.value;
      note.appendChild(chosen);
      return;
    }
    if (q.length < 2) { note.textContent = ""; delete note.dataset.status; return; }
    var ticket = ++resolving;
    fetch(resolveUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || ticket !== resolving || input.value.trim() !== q) return;
        note.textContent = "";
        note.dataset.status = j.status;
        var names = (j.medicines || []).map(function (m) { return m.generic_name; });
        if (names.length) {
          var strong = document.createElement("strong");
          strong.className = "rx-generic";
          strong.textContent = "→ " + names.join(" + ");
          note.appendChild(strong);
          note.appendChild(document.createTextNode(" "));
        }
        var rule = document.createElement("span");
        rule.className = j.status === "resolved" ? "rx-rule" : "rx-rule field-error";
        rule.textContent = j.rule;
        note.appendChild(rule);
        (j.suggestions || []).forEach(function (s) {
          var b = document.createElement("button");
          b.type = "button"; b.className = "rx-suggestion"; b.textContent = s;
          b.addEventListener("click", function () {
            input.value = s; input.focus();
            input.dispatchEvent(new Event("input", { bubbles: true }));
          });
          note.appendChild(document.createTextNode(" "));
          note.appendChild(b);
        });
      }).catch(function () {});
  }

  rx.addEventListener("input", debounce(function (ev) {
    var input = ev.target;
    if (!input.classList || !input.classList.contains("medicine-search")) return;
    var hidden = rx.querySelector("[name='" + input.name.replace(/-name$/, "-medicine_id") + "']");
    if (hidden) hidden.value = found[input.value] || "";
    var q = input.value.trim();
    showResolution(input, q);
    if (q.length < 2 || found[input.value]) return;
    fetch(rx.dataset.searchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (j) {
        var items = Array.isArray(j) ? j : (j.results || []);
        list.textContent = "";
        items.forEach(function (m) {
          var opt = document.createElement("option");
          opt.value = label(m); found[opt.value] = m.id;
          opt.label = [m.form, m.strength, m.tpg_list_label].filter(Boolean).join(" · ");
          list.appendChild(opt);
        });
      }).catch(function () {});
  }, 250));

  document.getElementById("add-medicine").addEventListener("click", function () {
    var rows = rx.querySelectorAll(".rx-item");
    var last = rows[rows.length - 1];
    var next = last.cloneNode(true);
    var index = rows.length;
    next.dataset.index = index;
    Array.prototype.forEach.call(next.querySelectorAll(".rx-resolved"), function (el) { el.remove(); });
    Array.prototype.forEach.call(next.querySelectorAll("[name]"), function (el) {
      el.name = el.name.replace(/^item-\d+-/, "item-" + index + "-");
      if (el.tagName !== "SELECT") el.value = "";
    });
    last.parentNode.appendChild(next);
  });
})();
