// The deals board and table (CSP-safe: no inline script, no eval).
//  - Drag a card to another column (SortableJS) or use its "Move to…" menu (keyboard, phone):
//    both POST the move; on success the card and every column header are replaced, on a
//    refusal the card goes back where it was and the reason is said; when the stage needs
//    more fields (a lost reason), a dialog asks for exactly those and retries the move.
//  - The table: a cell that did not save (422/409) is swapped in with its error.
(function () {
  "use strict";

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) { return ""; }
  }

  function say(message, isError) {
    var status = document.getElementById("board-status");
    if (!status) return;
    status.textContent = message;
    status.classList.toggle("is-error", !!isError);
  }

  function board() { return document.querySelector("[data-board]"); }

  function filtersOf() {
    // The board's filters (so the returned column totals match what is shown).
    return window.location.search.replace(/^\?/, "").split("&").filter(function (part) {
      return part && !/^(pipeline|cursor)=/.test(part);
    }).join("&");
  }

  function columnList(stageId) {
    return document.querySelector('.board-cards[data-column="' + stageId + '"]');
  }

  function placeholders(list) {
    if (!list) return;
    var empty = list.querySelector(".board-empty");
    if (empty && list.querySelector(".deal-card")) empty.remove();
  }

  // A column left without cards says so (unless more are still to load).
  function emptied(list) {
    if (!list || list.querySelector(".deal-card, .board-placeholder, .board-more")) return;
    var li = document.createElement("li");
    li.className = "board-placeholder board-empty muted";
    li.textContent = "No deals here now";
    list.appendChild(li);
  }

  function applyResult(data, card) {
    Object.keys(data.columns || {}).forEach(function (stageId) {
      var head = document.querySelector('[data-col-head="' + stageId + '"]');
      if (!head) return;
      var wrap = document.createElement("div");
      wrap.innerHTML = data.columns[stageId];
      var fresh = wrap.firstElementChild;
      if (fresh) {
        // Keep an opened "how" disclosure open.
        var wasOpen = head.querySelector("details[open]");
        if (wasOpen && fresh.querySelector("details")) fresh.querySelector("details").open = true;
        head.replaceWith(fresh);
      }
    });
    if (!data.card) { if (card) card.remove(); return null; }
    var holder = document.createElement("ol");
    holder.innerHTML = data.card;
    var fresh = holder.firstElementChild;
    var target = columnList(data.stage);
    var from = card ? card.parentNode : null;
    if (card && card.parentNode === target) {
      card.replaceWith(fresh);
    } else {
      if (card) card.remove();
      if (target) target.insertBefore(fresh, target.firstChild);
    }
    placeholders(target);
    if (from && from !== target) emptied(from);
    document.querySelectorAll(".board-cards").forEach(emptied);
    if (window.htmx) window.htmx.process(fresh);
    return fresh;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" },
      body: body,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(
        function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: { ok: false } }; }
      );
    });
  }

  function failure(result) {
    if (result.data && result.data.error) return result.data.error;
    if (result.status === 404) return "This deal is no longer on the board (deleted, or not yours to see).";
    if (result.status === 403) return "You cannot move deals.";
    return "The deal could not be moved. Try again.";
  }

  var dialogState = null;

  function openDialog(html, card, revert) {
    var dlg = document.getElementById("board-move-dialog");
    if (!dlg) return;
    var body = dlg.querySelector("[data-move-dialog-body]");
    body.innerHTML = html;
    if (window.htmx) window.htmx.process(body);
    dialogState = { card: card, revert: revert };
    if (!dlg.open) dlg.showModal();
    var first = body.querySelector("select, input:not([type=hidden]), textarea");
    if (first) first.focus();
  }

  function closeDialog(cancelled) {
    var dlg = document.getElementById("board-move-dialog");
    if (dlg && dlg.open) dlg.close();
    if (cancelled && dialogState && dialogState.revert) dialogState.revert();
    var card = dialogState && dialogState.card;
    dialogState = null;
    if (card && document.body.contains(card)) card.focus();
  }

  // Moves ``card`` to ``stageId``; ``revert`` puts it back when the move is refused.
  function move(card, stageId, revert) {
    var body = new FormData();
    body.append("stage", stageId);
    body.append("version", card.getAttribute("data-version") || "");
    body.append("filters", filtersOf());
    card.setAttribute("aria-busy", "true");
    return post(card.getAttribute("data-move-url"), body).then(function (result) {
      card.removeAttribute("aria-busy");
      if (result.data && result.data.ok) {
        var fresh = applyResult(result.data, card);
        var name = fresh ? fresh.querySelector(".deal-card-name").textContent : "The deal";
        var title = document.getElementById("col-title-" + stageId);
        say("Moved " + name + " to " + (title ? title.firstChild.textContent.trim() : "the stage") + ".");
        if (fresh) fresh.focus();
      } else if (result.data && result.data.form) {
        openDialog(result.data.form, card, revert);
        say(result.data.error || "More details are needed to move this deal.");
      } else {
        if (revert) revert();
        say(failure(result), true);
      }
    }, function () {
      card.removeAttribute("aria-busy");
      if (revert) revert();
      say("The deal could not be moved: the connection failed.", true);
    });
  }

  // The dialog's form (fields a stage requires): post it, then act as a move.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches && form.matches("[data-move-fill]")) {
      e.preventDefault();
      var card = dialogState && dialogState.card;
      post(form.getAttribute("action"), new FormData(form)).then(function (result) {
        if (result.data && result.data.ok) {
          var revert = dialogState && dialogState.revert;
          dialogState = { card: null, revert: null };
          closeDialog(false);
          var fresh = applyResult(result.data, card && document.body.contains(card) ? card : null);
          if (!fresh && revert) revert();
          if (fresh) { fresh.focus(); say("Moved " + fresh.querySelector(".deal-card-name").textContent + "."); }
        } else if (result.data && result.data.form) {
          openDialog(result.data.form, card, dialogState && dialogState.revert);
        } else {
          closeDialog(true);
          say(failure(result), true);
        }
      });
      return;
    }
    // A card's "Move to…" menu (keyboard, phone): same move, no drag needed.
    if (form.matches && form.matches("[data-move-form]")) {
      e.preventDefault();
      var cardEl = form.closest(".deal-card");
      var select = form.querySelector("[data-move-select]");
      if (!select.value) { say("Pick a stage to move the deal to.", true); select.focus(); return; }
      move(cardEl, select.value, function () { select.value = ""; });
    }
  });

  document.addEventListener("click", function (e) {
    var cancel = e.target.closest && e.target.closest("[data-move-cancel]");
    if (cancel) { e.preventDefault(); closeDialog(true); }
  });
  document.addEventListener("cancel", function (e) {
    if (e.target && e.target.id === "board-move-dialog") { e.preventDefault(); closeDialog(true); }
  }, true);

  function sortable(list) {
    if (!window.Sortable || list.getAttribute("data-sortable") === "1") return;
    list.setAttribute("data-sortable", "1");
    window.Sortable.create(list, {
      group: "deals",
      draggable: ".deal-card",
      filter: "select, button, input, a",
      preventOnFilter: false,
      animation: 120,
      delay: 150,
      delayOnTouchOnly: true,
      sort: false,
      onEnd: function (evt) {
        if (evt.from === evt.to) return;
        var card = evt.item;
        var from = evt.from;
        var next = from.children[evt.oldIndex] || null;
        var revert = function () {
          from.insertBefore(card, next && next.parentNode === from ? next : null);
        };
        placeholders(evt.to);
        move(card, evt.to.getAttribute("data-column"), revert);
      }
    });
  }

  function initSortables() {
    var root = board();
    if (!root || root.getAttribute("data-can-move") === "0") return;
    document.querySelectorAll(".board-cards").forEach(sortable);
  }

  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.classList && e.target.classList.contains("board-cards")) initSortables();
  });

  // The table: a cell that did not save is swapped in with its error, like a success.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    var elt = e.detail.elt;
    if ((status === 422 || status === 409) && elt && elt.closest && elt.closest("[data-deal-cell]")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var cell = e.target;
    if (!cell || !cell.matches || !cell.matches("[data-deal-cell]")) return;
    var input = cell.querySelector("input:not([type=hidden]), select");
    if (input) input.focus();
    else { var edit = cell.querySelector(".cell-edit"); if (edit) edit.focus(); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var form = e.target.closest && e.target.closest("[data-deal-cell] .cell-form");
    if (!form) return;
    var cancel = form.querySelector("button[type=button]");
    if (cancel) cancel.click();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initSortables);
  else initSortables();
})();
