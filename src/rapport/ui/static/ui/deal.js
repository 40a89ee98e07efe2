// The deal form's people rows: "Add another person" shows the next row (cloning the last
// one when all are shown), "Remove" clears a row and hides it. Without JavaScript every row is
// shown and clearing a name removes the person.
(function () {
  "use strict";
  function setup(box) {
    var list = box.querySelector("[data-people-rows]");
    var count = box.querySelector("[data-people-count]");
    var add = box.querySelector("[data-people-add]");
    if (!list || !count || !add) return;
    function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-people-row]")); }
    function filled(row) {
      var input = row.querySelector("[data-autocomplete-input]");
      return input && input.value.trim() !== "";
    }
    function clear(row) {
      row.querySelectorAll("input, select").forEach(function (el) { el.value = ""; });
      var options = row.querySelector("[data-autocomplete-options]");
      if (options) options.innerHTML = "";
    }
    // Show the filled rows, the rows with errors and one blank row; hide the other blanks.
    var blankShown = false;
    rows().forEach(function (row) {
      row.querySelector("[data-people-remove]").hidden = false;
      if (filled(row) || row.querySelector(".has-error")) return;
      if (!blankShown) { blankShown = true; return; }
      row.hidden = true;
    });
    add.hidden = false;
    add.addEventListener("click", function () {
      var next = rows().filter(function (row) { return row.hidden; })[0];
      if (!next) {
        var all = rows();
        var last = all[all.length - 1];
        var index = all.length;
        next = last.cloneNode(true);
        next.querySelectorAll("[id], [name], [for], [hx-target], [aria-controls]").forEach(function (el) {
          ["id", "name", "for", "hx-target", "aria-controls", "aria-describedby"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value) el.setAttribute(attr, value.replace(/(person|role)_\d+/g, "$1_" + index));
          });
        });
        next.querySelectorAll(".field-error, .errorlist").forEach(function (el) { el.remove(); });
        next.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
        clear(next);
        list.appendChild(next);
        count.value = String(index + 1);
        if (window.htmx) window.htmx.process(next);
      }
      next.hidden = false;
      var input = next.querySelector("[data-autocomplete-input]");
      if (input) input.focus();
    });
    list.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("[data-people-remove]");
      if (!button) return;
      var row = button.closest("[data-people-row]");
      clear(row);
      if (rows().filter(function (r) { return !r.hidden; }).length > 1) row.hidden = true;
      add.focus();
    });
  }
  function init() { document.querySelectorAll("[data-deal-people]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
