// The Customer 360 page: the quick-add box and the timeline (CSP-safe: no inline code).
//  - the kind tabs show the inputs of the chosen kind (CSS reads data-kind; :has() without JS);
//  - N (outside any input) opens the box on "Note" and puts the cursor in it;
//  - Ctrl/Cmd+Enter in the box logs the interaction;
//  - a box that did not save (422) is swapped in with its errors, like a success.
(function () {
  "use strict";

  function box() { return document.getElementById("quick-add"); }

  function setKind(form, kind) {
    form.setAttribute("data-kind", kind);
    var body = form.querySelector('textarea[name="body"]');
    var label = body && form.querySelector('label[for="' + body.id + '"]');
    if (label) label.textContent = kind === "note" ? "Note" : "Notes";
  }

  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches('[data-quick-add] input[name="type"]')) return;
    setKind(input.form, input.value);
  });

  function editing(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && el.type !== "radio" && el.type !== "checkbox";
  }

  document.addEventListener("keydown", function (e) {
    var form = box();
    if (!form) return;
    if ((e.key === "Enter") && (e.ctrlKey || e.metaKey) && form.contains(e.target)) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
      return;
    }
    if (e.key !== "n" && e.key !== "N") return;
    if (e.ctrlKey || e.metaKey || e.altKey || editing(document.activeElement)) return;
    var dialog = document.querySelector("dialog[open]");
    if (dialog) return;
    e.preventDefault();
    var note = form.querySelector('input[name="type"][value="note"]');
    if (note) { note.checked = true; setKind(form, "note"); }
    var body = form.querySelector('textarea[name="body"]');
    if (body) {
      body.scrollIntoView({ block: "center" });
      body.focus();
    }
  });

  document.addEventListener("htmx:beforeSwap", function (e) {
    var elt = e.detail.elt;
    if (e.detail.xhr.status === 422 && elt && elt.closest && elt.closest("[data-quick-add]")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // "Show remote images" reloads the frame (the link targets it); then it has done its job.
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("[data-show-images]");
    if (!link) return;
    var note = link.closest(".email-images");
    window.setTimeout(function () { if (note) note.hidden = true; }, 0);
  });
})();
