// Settings → Pipelines: the stage editor without round trips (CSP-safe, no inline code).
// Without this script the same buttons post the form and the server reorders, adds and removes
// rows; with it they act at once. Rows are posted in page order (hidden "row" inputs), so
// dragging (SortableJS) and the arrow buttons only have to move the row in the page.
(function () {
  "use strict";
  var form = document.querySelector("[data-stage-editor]");
  if (!form) return;
  var list = form.querySelector("[data-stage-list]");
  var template = form.querySelector("template[data-stage-template]");
  var nextKey = parseInt(form.getAttribute("data-next-key"), 10) || 0;
  var maxStages = parseInt(form.getAttribute("data-max-stages"), 10) || 30;

  function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-stage-row]")); }

  function renumber() {
    var all = rows();
    all.forEach(function (row, i) {
      var pos = row.querySelector("[data-stage-pos]");
      if (pos) pos.textContent = String(i + 1);
      var up = row.querySelector('[data-stage-move="up"]');
      var down = row.querySelector('[data-stage-move="down"]');
      if (up) up.disabled = i === 0;
      if (down) down.disabled = i === all.length - 1;
      var remove = row.querySelector("[data-stage-remove]");
      if (remove) remove.disabled = all.length === 1;
    });
    var add = form.querySelector("[data-stage-add]");
    if (add) add.disabled = all.length >= maxStages;
  }

  form.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button");
    if (!button || !form.contains(button)) return;
    var row = button.closest("[data-stage-row]");
    if (button.hasAttribute("data-stage-move") && row) {
      e.preventDefault();
      if (button.getAttribute("data-stage-move") === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
      } else if (button.getAttribute("data-stage-move") === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
      }
      renumber();
      button.focus();
    } else if (button.hasAttribute("data-stage-remove") && row) {
      e.preventDefault();
      var deals = parseInt(button.getAttribute("data-deals"), 10) || 0;
      var name = (row.querySelector("input[name$='-name']") || {}).value || "this stage";
      if (deals && !window.confirm("“" + name + "” holds " + deals + " deal(s). Remove it? When you save, you choose where its deals go.")) return;
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      var focus = next && next.querySelector("input[name$='-name']");
      if (focus) focus.focus();
    } else if (button.hasAttribute("data-stage-add") && template) {
      e.preventDefault();
      if (rows().length >= maxStages) return;
      var html = template.innerHTML.split("__KEY__").join(String(nextKey));
      nextKey += 1;
      var holder = document.createElement("ol");
      holder.innerHTML = html;
      var added = holder.firstElementChild;
      list.appendChild(added);
      renumber();
      var input = added.querySelector("input[name$='-name']");
      if (input) input.focus();
    }
  });

  if (window.Sortable) {
    window.Sortable.create(list, {
      handle: "[data-stage-handle]",
      animation: 150,
      onEnd: renumber,
    });
  }
  renumber();
})();
