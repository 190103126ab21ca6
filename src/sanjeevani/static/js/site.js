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

/* A table wider than the phone's screen (a prescription's five columns at 320 px) scrolls
   inside its own box instead of pushing the whole page sideways. The box can take the
   keyboard focus and is named after the table's caption or heading, so it can be
   scrolled without a mouse (WCAG 2.1.1). */
(function () {
  "use strict";
  function tableName(table) {
    if (table.caption && table.caption.textContent.trim()) return table.caption.textContent.trim();
    for (var el = table.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    var section = table.closest("section, article");
    var heading = section && section.querySelector("h1, h2, h3, h4");
    return heading ? heading.textContent.trim() : document.title;
  }
  function wrapWideTables() {
    var tables = document.querySelectorAll("main table");
    for (var i = 0; i < tables.length; i++) {
      var table = tables[i];
      if (table.parentElement.classList.contains("table-wrap")) continue;
      if (table.getBoundingClientRect().width <= table.parentElement.clientWidth + 0.5) continue;
      var wrap = document.createElement("div");
      wrap.className = "table-wrap";
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", tableName(table));
      table.parentNode.insertBefore(wrap, table);
      wrap.appendChild(table);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wrapWideTables);
  } else {
    wrapWideTables();
  }
  window.addEventListener("resize", wrapWideTables);
})();
