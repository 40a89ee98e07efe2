// Tasks (My work, the task form): no inline script, so the CSP stays strict.
(function () {
  "use strict";

  // The bulk bar says how many tasks are ticked and is usable only when some are.
  function refreshBulk() {
    var bar = document.querySelector("[data-task-bulk]");
    if (!bar) return;
    var ticked = document.querySelectorAll('input[type="checkbox"][name="ids"][form="task-bulk"]:checked').length;
    var note = bar.querySelector("[data-task-selected]");
    if (note) note.textContent = ticked ? ticked + (ticked === 1 ? " task ticked" : " tasks ticked") : "Tick tasks to change them together.";
    bar.querySelectorAll("button").forEach(function (b) { b.disabled = ticked === 0; });
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.matches) return;
    if (t.matches("[data-task-check-all]")) {
      var bucket = t.getAttribute("data-task-check-all");
      document.querySelectorAll('input[name="ids"][data-bucket="' + bucket + '"]').forEach(function (box) {
        box.checked = t.checked;
      });
    }
    if (t.matches("[data-task-check-all], input[name='ids']")) refreshBulk();
    // The assignee picker shows that member's work as soon as one is picked.
    var auto = t.closest && t.closest("form[data-task-autosubmit]");
    if (auto && t.tagName === "SELECT") auto.submit();
    if (t.matches("[data-task-repeat], [data-task-reminder]")) refreshForm();
  });

  // Rows added by "show more", or a row swapped after completing, change what is ticked.
  document.addEventListener("htmx:afterSwap", refreshBulk);

  // The task form shows the weekday boxes only for "every week on…", and the custom
  // reminder's date and time only for "at a time I choose".
  function refreshForm() {
    var form = document.querySelector("[data-task-form]");
    if (!form) return;
    var repeat = form.querySelector("[data-task-repeat]");
    var days = form.querySelector("[data-task-weekdays]");
    if (repeat && days) days.hidden = repeat.value !== "weekly";
    var reminder = form.querySelector("[data-task-reminder]");
    var custom = form.querySelector("[data-task-custom-reminder]");
    if (reminder && custom) custom.hidden = reminder.value !== "custom";
  }

  function init() {
    refreshBulk();
    refreshForm();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
