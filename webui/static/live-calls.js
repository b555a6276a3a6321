// Refreshes the Live calls table every few seconds from /calls/live.json (the same
// table, rendered by the server's template; the polling itself: poll.js). Served as a
// file: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  const root = document.querySelector("[data-live-url]");
  if (!root) {
    return;
  }
  const url = root.dataset.liveUrl;
  const loginUrl = root.dataset.loginUrl;
  const every = Number(root.dataset.refreshMs) || 3000;
  const checkedAt = document.querySelector("[data-role='checked-at']");
  const stale = document.querySelector("[data-role='stale']");

  function render(data) {
    // the server's own template, autoescaped: safe to insert
    root.innerHTML = data.html;
    checkedAt.textContent = data.checked_at;
  }

  window.orchestratorPoll({
    url: url, loginUrl: loginUrl, every: every, stale: stale, render: render,
  });
})();
