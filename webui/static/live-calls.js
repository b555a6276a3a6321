// Refreshes the Live calls table every few seconds from /calls/live.json (the same
// table, rendered by the server's template). Served as a file: the
// Content-Security-Policy allows no inline script.
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

  function markStale(reason) {
    stale.textContent = reason ? " \u2014 could not refresh (" + reason + ")" : "";
    stale.hidden = !reason;
  }

  async function refresh() {
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.assign(loginUrl);
        return;
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      const data = await response.json();
      // the server's own template, autoescaped: safe to insert
      root.innerHTML = data.html;
      checkedAt.textContent = data.checked_at;
      markStale("");
    } catch (error) {
      markStale(error.message || "the web admin is not answering");
    }
    window.setTimeout(refresh, every);
  }

  window.setTimeout(refresh, every);
})();
