/* The doctor's consultation page: how the consultation is held, as the room observes it from
   both ends (live, from room.js's "sanjeevani:consultation-mode" event), and the control that
   confirms it (the observed mode or a lower one) before signing. */
(function () {
  "use strict";
  var RANK = { chat: 0, audio: 1, video: 2 };

  var box = document.getElementById("consultation-mode");
  if (!box) return;
  var form = box.querySelector('[data-el="confirm-form"]');
  var choice = form.elements.mode;
  var errorEl = box.querySelector('[data-el="mode-error"]');
  var label = function (mode) { return box.dataset["label" + mode.charAt(0).toUpperCase() + mode.slice(1)] || mode; };

  function show(state) {
    box.dataset.observed = state.observed_mode;
    box.dataset.mode = state.mode;
    box.dataset.confirmed = state.confirmed ? "1" : "0";
    box.querySelector('[data-el="observed"]').textContent = label(state.observed_mode);
    box.querySelector('[data-el="confirmation"]').textContent = state.confirmed
      ? box.dataset.confirmedText.replace("%(mode)s", label(state.mode))
      : box.dataset.unconfirmedText;
    var before = choice.value;
    Array.prototype.forEach.call(choice.options, function (option) {
      option.disabled = RANK[option.value] > RANK[state.observed_mode];
    });
    // Offer the newly observed mode unless the doctor already picked another allowed one.
    if (choice.options[choice.selectedIndex].disabled || (RANK[before] < RANK[state.observed_mode] && !state.confirmed)) {
      choice.value = state.observed_mode;
    }
  }

  document.addEventListener("sanjeevani:consultation-mode", function (e) { show(e.detail); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    errorEl.textContent = "";
    var csrf = (form.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ mode: choice.value })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok) show(res.body);
      else errorEl.textContent = (res.body.error && res.body.error.message) || box.dataset.failedText;
    }).catch(function () { errorEl.textContent = box.dataset.failedText; });
  });
})();
