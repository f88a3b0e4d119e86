// The treatment form: once a kind is chosen, only its details show (each detail's box lists its kinds in
// data-kinds, built from KIND_DETAILS). A hidden detail is disabled too, so the browser does not send it. Without
// this script every detail shows, with the kinds it is for, and the server refuses one of another kind by name.
{
  const form = document.querySelector("form[data-treatment-form]");
  if (form) {
    const details = form.querySelectorAll("[data-kinds]");
    const legend = form.querySelector("[data-details-legend]");
    for (const hint of form.querySelectorAll(".kind-hint")) hint.hidden = true;
    const show = () => {
      const chosen = form.querySelector('input[name="kind"]:checked');
      const kind = chosen ? chosen.value : "";
      for (const detail of details) {
        // A detail the server refused stays in sight, with its message, until it is emptied.
        const shown = detail.dataset.kinds.split(" ").includes(kind) || detail.querySelector(".is-invalid") !== null;
        detail.hidden = !shown;
        for (const input of detail.querySelectorAll("input, select, textarea")) input.disabled = !shown;
      }
      if (legend && chosen && chosen.labels.length) legend.textContent = `${chosen.labels[0].textContent.trim()} details`;
    };
    for (const radio of form.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", show);
    show();
  }
}
