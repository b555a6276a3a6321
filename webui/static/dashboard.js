// Refreshes the dashboard's health cards from /health.json every few seconds
// (the polling itself: poll.js).
// Served as a file: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  const root = document.querySelector("[data-health-url]");
  if (!root) {
    return;
  }
  const url = root.dataset.healthUrl;
  const loginUrl = root.dataset.loginUrl;
  const every = Number(root.dataset.refreshMs) || 5000;
  const checkedAt = document.querySelector("[data-field='checked_at']");
  const stale = document.querySelector("[data-role='stale']");

  function show(value) {
    return value === null || value === undefined || value === "" ? "\u2014" : String(value);
  }

  function setField(scope, field, value) {
    const element = scope.querySelector("[data-field='" + field + "']");
    if (element) {
      element.textContent = show(value);
    }
  }

  function renderCard(card, daemon) {
    card.dataset.state = daemon.up ? "up" : "down";
    setField(card, "status", daemon.up ? "Up" : "Down");
    setField(card, "version", daemon.version);
    setField(card, "uptime_human", daemon.uptime_human);
    setField(card, "active_calls", daemon.active_calls);
    setField(card, "control", daemon.control);
    setField(card, "problem", daemon.problem);
    setField(card, "error", daemon.error);
    card.querySelector("[data-role='problem']").hidden = daemon.up;
    card.querySelector("[data-role='warning']").hidden = !(daemon.up && daemon.error);
  }

  function render(data) {
    for (const card of root.querySelectorAll("[data-daemon]")) {
      const daemon = data[card.dataset.daemon];
      if (daemon) {
        renderCard(card, daemon);
      }
    }
    checkedAt.textContent = data.checked_at;
  }

  window.orchestratorPoll({
    url: url, loginUrl: loginUrl, every: every, stale: stale, render: render,
  });
})();
