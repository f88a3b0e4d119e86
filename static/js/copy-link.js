// "Copy" on the link-for-a-call page: a static file, since the Content Security Policy allows no inline script.
const button = document.getElementById("copy-link");
const field = document.getElementById("survey-link");
button?.addEventListener("click", async () => {
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    document.execCommand("copy"); // plain http on a clinic network: the Clipboard API needs a secure origin
  }
  button.textContent = "Copied";
});
