// The print summary's button: a static file, since the Content Security Policy allows no inline script.
document.getElementById("print-now")?.addEventListener("click", () => window.print());
