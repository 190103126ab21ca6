// The 80 mm slip's print button (no inline handlers under the site's CSP).
"use strict";
document.getElementById("print-slip")?.addEventListener("click", () => window.print());
