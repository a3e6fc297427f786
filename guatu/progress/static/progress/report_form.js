// Monthly report form: show the cumulative investment (last report's cumulative + this month's
// figure) as the user types, so a slip of a digit is seen before saving.
document.addEventListener("DOMContentLoaded", () => {
  const format = (value) => value.toFixed(2);
  document.querySelectorAll("[data-cumulative-base]").forEach((output) => {
    const input = document.getElementById(output.dataset.cumulativeInput);
    const base = Number.parseFloat(output.dataset.cumulativeBase) || 0;
    if (!input) return;
    const update = () => {
      const typed = Number.parseFloat(String(input.value).replace(/[,，\s]/g, ""));
      output.textContent = format(base + (Number.isFinite(typed) ? typed : 0));
    };
    input.addEventListener("input", update);
    if (input.value !== "") update();
  });
});
