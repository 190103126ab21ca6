/* The hub's case steps on the consultation page post in the background, so a follow-up
   request never reloads the page or touches the call; forwarding (and a referral that
   ends the consultation) goes back to the console. Without script they post as forms. */
(function () {
  "use strict";
  var status = document.getElementById("hub-step-status");
  function token(form) { var el = form.querySelector("[name=csrfmiddlewaretoken]"); return el ? el.value : ""; }
  ["refer-form", "forward-form", "follow-up-form"].forEach(function (id) {
    var form = document.getElementById(id);
    if (!form || !window.fetch) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST", credentials: "same-origin", body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRFToken": token(form) }
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        if (status) status.textContent = answer.ok ? answer.body.message : answer.body.error;
        if (!answer.ok) return;
        var ends = id === "forward-form" || (id === "refer-form" && form.elements.end && form.elements.end.checked);
        if (ends) window.location.reload();
      }).catch(function () {
        if (status) status.textContent = status.dataset.failed || "";
      }).finally(function () { if (button) button.disabled = false; });
    });
  });
})();
