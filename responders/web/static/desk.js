// Keyboard shortcuts for the desk: j/k move through the queue's rows, Enter opens the
// current one, x selects it, a/d pick "assign"/"dismiss" for the bulk form (selecting the
// current row when none is), / goes to the search box, ? shows the list. No inline script
// (the CSP forbids it) and nothing loaded from elsewhere.
(function () {
  "use strict";
  var current = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-alert]"));
  }

  function mark(i) {
    var all = rows();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach(function (r, j) { r.classList.toggle("current", j === current); });
    all[current].scrollIntoView({block: "nearest"});
  }

  function currentRow() {
    var all = rows();
    return current >= 0 && current < all.length ? all[current] : null;
  }

  function pickCurrentIfNone() {
    var picked = document.querySelectorAll("#queue-rows input.pick:checked");
    var row = currentRow();
    if (!picked.length && row) {
      var box = row.querySelector("input.pick");
      if (box) { box.checked = true; }
    }
  }

  function chooseBulk(action) {
    var select = document.getElementById("bulk-action");
    if (!select) { return; }
    pickCurrentIfNone();
    select.value = action;
    var next = document.getElementById(action === "assign" ? "bulk-assignee" : "bulk-reason");
    if (next) { next.focus(); }
  }

  // Keys go to what is being typed into; a checkbox or a button takes no letters.
  function typing(target) {
    var tag = (target && target.tagName) || "";
    if (tag === "INPUT") {
      var type = (target.getAttribute("type") || "text").toLowerCase();
      return ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) < 0;
    }
    return tag === "TEXTAREA" || tag === "SELECT" || !!(target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (typing(ev.target)) {
      if (ev.key === "Escape" && ev.target.blur) { ev.target.blur(); }
      return;
    }
    var help = document.getElementById("shortcuts");
    switch (ev.key) {
      case "j": mark(current + 1); break;
      case "k": mark(current - 1); break;
      case "Enter": {
        var row = currentRow();
        var link = row && row.querySelector("a.alert-link");
        if (!link) { return; }
        window.location.href = link.getAttribute("href");
        break;
      }
      case "x": {
        var r = currentRow();
        var box = r && r.querySelector("input.pick");
        if (!box) { return; }
        box.checked = !box.checked;
        break;
      }
      case "a": chooseBulk("assign"); break;
      case "d": chooseBulk("dismiss"); break;
      case "/": {
        var input = document.getElementById("search-input");
        if (!input) { return; }
        input.focus();
        break;
      }
      case "?": if (help) { help.hidden = !help.hidden; } break;
      case "Escape": if (help) { help.hidden = true; } break;
      default: return;
    }
    ev.preventDefault();
  });

  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.id === "select-all") {
      rows().forEach(function (r) {
        var box = r.querySelector("input.pick");
        if (box) { box.checked = ev.target.checked; }
      });
    }
  });

  // A new table from htmx (a filter changed): start again from the top.
  document.addEventListener("htmx:afterSwap", function () { current = -1; });
})();
