// A report run's progress: polls the run's JSON status until it is finished, then shows the downloads.
// The status view is passive (apps.accounts.sessions.passive_request): polling never keeps the session alive.
(function () {
  "use strict";
  var box = document.getElementById("report-progress");
  if (!box || box.dataset.finished === "true") { return; }
  var url = box.dataset.statusUrl;
  var delay = 1000;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (run) {
        document.getElementById("report-status").textContent = run.status_label;
        document.getElementById("report-bar").value = run.progress;
        var step = document.getElementById("report-step");
        // Once finished the status says it all ("Ready"): the last step would only repeat it.
        if (step) { step.textContent = run.finished || !run.step ? "" : " · " + run.step; }
        if (run.finished) {
          if (run.status === "done") { document.getElementById("report-downloads").hidden = false; }
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, delay * 5); });
  }
  window.setTimeout(poll, delay);
})();
