// Progress page of a background job (templates/jobs/progress.html): polls
// /jobs/<id>.json every 500 ms, moves the progress bar and shows the message; when
// the job has ended, reloads the page, which then shows the result or the errors.
// Served as a file: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  const box = document.querySelector("[data-job]");
  if (!box) {
    return;
  }
  const url = box.dataset.jobUrl;
  const bar = box.querySelector("[data-job-progress]");
  const percent = box.querySelector("[data-job-percent]");
  const message = box.querySelector("[data-job-message]");
  const state = box.querySelector("[data-job-state]");
  const problem = box.querySelector("[data-job-poll-error]");
  const POLL_MS = 500;
  let failures = 0;

  function show(job) {
    bar.value = job.progress;
    bar.textContent = job.progress + "%";
    percent.textContent = String(job.progress);
    message.textContent = job.message || "";
    state.textContent = job.state;
    state.className = "status status-job-" + job.state;
    box.dataset.state = job.state;
  }

  async function poll() {
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.reload(); // signed out: the page goes to the sign-in page
        return;
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      const job = await response.json();
      failures = 0;
      problem.hidden = true;
      show(job);
      if (job.state === "done" || job.state === "failed") {
        window.location.reload();
        return;
      }
    } catch (error) {
      failures += 1;
      problem.hidden = false;
      problem.textContent = "Could not refresh (" + error.message + "); trying again.";
    }
    window.setTimeout(poll, failures ? Math.min(5000, POLL_MS * 2 ** failures) : POLL_MS);
  }

  window.setTimeout(poll, POLL_MS);
})();
