// Settings → Lead scoring / Lead assignment: show only the inputs the chosen kind of rule
// (or target) uses. Without this script every input shows and the server ignores the rest.
(function () {
  "use strict";
  function val(form, selector) {
    var el = form.querySelector(selector);
    return el ? el.value : null;
  }

  function sync(form) {
    var kind = val(form, "select[name=kind]");
    var target = val(form, "input[name=target]:checked");
    var field = val(form, "select[name=field]");
    var operator = val(form, "select[name=operator]");
    // "is not empty" needs no value (only a field test has an operator).
    var noValue = operator === "not_empty" && (kind === null || kind === "field");
    form.querySelectorAll("[data-show-for], [data-show-for-target], [data-needs-field], [data-needs-value]")
      .forEach(function (el) {
        var kinds = el.getAttribute("data-show-for");
        var forTarget = el.getAttribute("data-show-for-target");
        el.hidden =
          (kinds !== null && kind !== null && kinds.split(" ").indexOf(kind) === -1) ||
          (forTarget !== null && target !== null && forTarget !== target) ||
          (el.hasAttribute("data-needs-field") && field !== null && !field) ||
          (el.hasAttribute("data-needs-value") && noValue);
      });
    var value = form.querySelector("input[name=value]");
    if (kind !== null && value) {
      var label = form.querySelector("label[for='" + value.id + "']");
      var decay = kind === "decay";
      if (label) label.textContent = decay ? "Days without activity" : "Value";
      value.placeholder = decay ? "e.g. 30" : "e.g. VP";
      value.inputMode = decay ? "numeric" : "text";
    }
  }

  document.querySelectorAll("[data-lead-rule-form]").forEach(function (form) {
    form.addEventListener("change", function () { sync(form); });
    sync(form);
  });
})();
