// The "Menu" disclosure of the top bar (details.navmenu): Escape closes it and gives the focus
// back to its button; a click or a focus outside it closes it too. Opening and closing
// themselves are the browser's own <details> behaviour, so the menu works without this file.
(function () {
  "use strict";
  function openMenu() { return document.querySelector("details.navmenu[open]"); }

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var menu = openMenu();
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  function closeIfOutside(e) {
    var menu = openMenu();
    if (menu && !menu.contains(e.target)) menu.open = false;
  }
  document.addEventListener("click", closeIfOutside);
  document.addEventListener("focusin", closeIfOutside);

  // The search box's placeholder names Ctrl+K: on a narrow screen (no keyboard shortcut,
  // little room) it says just "Search".
  var narrow = window.matchMedia("(max-width: 760px)");
  function placeholders() {
    document.querySelectorAll("input[data-short-placeholder]").forEach(function (input) {
      if (!input.hasAttribute("data-long-placeholder")) {
        input.setAttribute("data-long-placeholder", input.placeholder);
      }
      input.placeholder = narrow.matches
        ? input.getAttribute("data-short-placeholder")
        : input.getAttribute("data-long-placeholder");
    });
  }
  placeholders();
  narrow.addEventListener("change", placeholders);
})();
