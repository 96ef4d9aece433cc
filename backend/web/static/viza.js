// Small touches only; every page works without this file.
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (all) {
    document.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = all.checked; });
  }
  const auto = event.target.closest("[data-autosubmit]");
  if (auto) auto.form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  const question = event.submitter && event.submitter.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
// On a phone the filters fold away (their summary says how many are on); on a laptop they stay open.
if (window.matchMedia("(max-width: 720px)").matches) {
  document.querySelectorAll("details[data-collapse-narrow]").forEach((box) => { box.open = false; });
}
