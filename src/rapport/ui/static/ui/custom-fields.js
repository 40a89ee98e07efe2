// Settings → Custom fields (CSP-safe): show only the inputs that apply to the chosen type.
// Without JavaScript every input shows, and the server ignores the ones that do not apply.
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector("[data-type-select]");
    if (!select || select.disabled) return;
    var type = select.value;
    form.querySelectorAll("[data-types]").forEach(function (input) {
      var types = input.getAttribute("data-types").split(" ");
      var box = input.closest(".field") || input;
      box.hidden = types.indexOf(type) === -1;
    });
  }
  function init() {
    document.querySelectorAll("[data-type-form]").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function (e) {
        if (e.target.hasAttribute("data-type-select")) sync(form);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
