// Enclave's only script besides htmx: confirmation prompts for destructive actions
// (no inline handlers, so the Content-Security-Policy can forbid inline script).
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }
});

// At phone width tables are shown as cards (enclave.css); each cell carries its column's heading.
function labelTableCells(root) {
  root.querySelectorAll("table").forEach(function (table) {
    const headings = Array.from(table.querySelectorAll("thead th")).map(function (th) { return th.textContent.trim(); });
    if (!headings.length) { return; }
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.from(row.children).forEach(function (cell, i) {
        if (headings[i] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", headings[i]);
        }
      });
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { labelTableCells(document); });
document.addEventListener("htmx:afterSwap", function (event) { labelTableCells(event.target.parentNode || document); });
