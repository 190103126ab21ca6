/* Family profile form: show only the chosen state's districts. Without JavaScript every
   district stays listed, grouped by state. Kept out of the page so the Content-Security-Policy
   can refuse every inline script. */
(function () {
  "use strict";
  var state = document.getElementById("id_state"), district = document.getElementById("id_district");
  if (!state || !district) return;
  function filter() {
    var chosen = state.selectedIndex >= 0 ? state.options[state.selectedIndex].text : "";
    Array.prototype.forEach.call(district.getElementsByTagName("optgroup"), function (group) {
      var match = !state.value || group.label === chosen;
      group.hidden = !match; group.disabled = !match;
    });
  }
  state.addEventListener("change", function () { filter(); district.value = ""; });
  filter();
})();
