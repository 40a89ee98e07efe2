// Rapport's own behaviour (CSP-safe: no inline scripts, no eval).
// The command palette: Ctrl+K / Cmd+K opens it from anywhere; arrows move; Enter opens.
(function () {
  "use strict";
  function palette() { return document.getElementById("palette"); }

  function openPalette(initial) {
    var dlg = palette();
    if (!dlg) return;
    var input = document.getElementById("palette-input");
    if (!dlg.open) dlg.showModal();
    if (initial !== undefined) { input.value = initial; input.dispatchEvent(new Event("search")); }
    input.focus();
    input.select();
  }

  function items() { return Array.prototype.slice.call(document.querySelectorAll("#palette-results a")); }

  function move(delta) {
    var list = items();
    if (!list.length) return;
    var idx = list.findIndex(function (a) { return a.getAttribute("aria-selected") === "true"; });
    list.forEach(function (a) { a.setAttribute("aria-selected", "false"); });
    idx = (idx + delta + list.length) % list.length;
    list[idx].setAttribute("aria-selected", "true");
    list[idx].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && (e.key === "k" || e.key === "K")) {
      e.preventDefault();
      openPalette();
      return;
    }
    var dlg = palette();
    if (!dlg || !dlg.open) return;
    if (e.key === "ArrowDown") { e.preventDefault(); move(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
    else if (e.key === "Enter" && e.target.id === "palette-input") {
      e.preventDefault();
      var chosen = document.querySelector('#palette-results a[aria-selected="true"]') || items()[0];
      if (chosen) window.location.href = chosen.href;
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.id === "palette-results") {
      var first = items()[0];
      if (first) first.setAttribute("aria-selected", "true");
    }
  });

  // Close on a click on the backdrop.
  document.addEventListener("click", function (e) {
    var dlg = palette();
    if (dlg && e.target === dlg) dlg.close();
  });

  // Confirm destructive forms: <form data-confirm="Delete this person?">
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();
