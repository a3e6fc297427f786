// Page behaviour without inline scripts (keeps a strict Content-Security-Policy possible).
document.addEventListener("DOMContentLoaded", () => {
  // Confirm destructive buttons.
  document.body.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
  // Filters submit on change of a select, so the list follows what the user picks.
  document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
});
