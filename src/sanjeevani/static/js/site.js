/* Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can refuse
   inline scripts and on* handler attributes.

   data-confirm on a submit button (or its form): ask before submitting; "Cancel" keeps the
   page as it is. Without JavaScript the form simply submits. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-confirm], input[data-confirm]") : null;
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();

/* A page whose actions depend on the current state (data-fresh-on-return) and that the
   browser restored from its back-forward cache is fetched again, so Back never offers a
   stale action such as "Take a token" after the token was taken. (Those pages are also
   served with Cache-Control: no-store, which keeps most browsers from restoring them.) */
(function () {
  "use strict";
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.querySelector("[data-fresh-on-return]")) {
      window.location.reload();
    }
  });
})();
