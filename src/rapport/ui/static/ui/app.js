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
    input.focus();
    if (initial !== undefined) {
      // Carry on typing where the top search box left off.
      input.value = initial;
      input.setSelectionRange(initial.length, initial.length);
      input.dispatchEvent(new Event("search"));
    } else {
      input.select();
    }
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

  // On a wide screen, typing in the top search box opens the palette with live results.
  document.addEventListener("input", function (e) {
    if (!e.target.hasAttribute || !e.target.hasAttribute("data-palette-open")) return;
    // On a phone the box stays a plain search form: the results page reads better there.
    if (!window.matchMedia("(min-width: 701px)").matches) return;
    var value = e.target.value;
    e.target.value = "";
    openPalette(value);
  });

  // Close on a click on the backdrop.
  document.addEventListener("click", function (e) {
    var dlg = palette();
    if (dlg && e.target === dlg) dlg.close();
  });

  // Confirm destructive forms: <form data-confirm="Delete this person?">, or one of a form's
  // buttons: <button data-confirm="..."> (the button's question wins).
  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    var msg = (button && button.getAttribute && button.getAttribute("data-confirm")) ||
      (e.target.getAttribute && e.target.getAttribute("data-confirm"));
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
})();

// Lists: a filter form marked data-compact-query leaves blank fields out of the URL it
// fetches and pushes, so a shared link says only what is filtered.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (e) {
    var elt = e.detail.elt;
    if (e.detail.verb !== "get" || !elt || !elt.closest || !elt.closest("[data-compact-query]")) return;
    var params = e.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "") delete params[key];
    });
  });
})();

// Autocomplete: <div data-autocomplete> holds a text input (data-autocomplete-input) that
// fetches options with htmx into [data-autocomplete-options], and a hidden input
// (data-autocomplete-value) that receives the picked id. Typing forgets the previous pick;
// picking fills both inputs and announces a "change" on the hidden one (filter forms react).
(function () {
  "use strict";
  function parts(el) {
    var box = el.closest("[data-autocomplete]");
    if (!box) return null;
    return {
      box: box,
      input: box.querySelector("[data-autocomplete-input]"),
      value: box.querySelector("[data-autocomplete-value]"),
      options: box.querySelector("[data-autocomplete-options]")
    };
  }
  function close(p) {
    if (!p || !p.options) return;
    p.options.innerHTML = "";
    if (p.input) p.input.setAttribute("aria-expanded", "false");
  }
  function setValue(p, id) {
    if (!p.value || p.value.value === id) return;
    p.value.value = id;
    p.value.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function optionButtons(p) {
    return Array.prototype.slice.call(p.options.querySelectorAll("[data-autocomplete-pick]"));
  }

  // The text input's own "change" (on blur) means nothing until a company is picked; a
  // data-live-input box already acted on every keystroke. Their forms must not hear it.
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-autocomplete-input], [data-live-input]")) {
      e.stopPropagation();
    }
  }, true);

  document.addEventListener("input", function (e) {
    if (!e.target.matches || !e.target.matches("[data-autocomplete-input]")) return;
    var p = parts(e.target);
    if (!p || !p.value) return;
    if (e.target.value.trim() === "") { setValue(p, ""); close(p); }
    else { p.value.value = ""; }
  });

  document.addEventListener("click", function (e) {
    var pick = e.target.closest && e.target.closest("[data-autocomplete-pick]");
    if (pick) {
      var p = parts(pick);
      p.input.value = pick.getAttribute("data-label");
      setValue(p, pick.getAttribute("data-value"));
      close(p);
      p.input.focus();
      return;
    }
    document.querySelectorAll("[data-autocomplete]").forEach(function (box) {
      if (!box.contains(e.target)) close(parts(box));
    });
  });

  document.addEventListener("keydown", function (e) {
    var p = e.target.closest && parts(e.target);
    if (!p || !p.options) return;
    var list = optionButtons(p);
    var idx = list.indexOf(document.activeElement);
    if (e.key === "Escape" && list.length) { e.preventDefault(); close(p); p.input.focus(); }
    else if (e.key === "ArrowDown" && list.length) {
      e.preventDefault(); list[Math.min(idx + 1, list.length - 1)].focus();
    } else if (e.key === "ArrowUp" && idx >= 0) {
      e.preventDefault(); if (idx === 0) p.input.focus(); else list[idx - 1].focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.target.matches || !e.target.matches("[data-autocomplete-options]")) return;
    var p = parts(e.target);
    if (p && p.input) p.input.setAttribute("aria-expanded", e.target.children.length ? "true" : "false");
  });
})();

// Select all: <input type="checkbox" data-check-all="FORM-ID"> ticks every "item" checkbox
// that belongs to that form (the trash's rows).
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var form = e.target.getAttribute && e.target.getAttribute("data-check-all");
    if (!form) return;
    document.querySelectorAll('input[type="checkbox"][name="item"][form="' + form + '"]').forEach(function (box) {
      box.checked = e.target.checked;
    });
  });
})();
