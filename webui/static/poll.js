// Polls a JSON URL of the web admin every few seconds for pages that refresh
// themselves (dashboard, live calls): window.orchestratorPoll({url, loginUrl, every,
// stale, render}). A 401 goes to the login page; a failure is shown in `stale`
// ("could not refresh (...)") and the next poll tries again.
// Served as a file: the Content-Security-Policy allows no inline script.
"use strict";

window.orchestratorPoll = function (options) {
  const stale = options.stale;

  function markStale(reason) {
    stale.textContent = reason ? " \u2014 could not refresh (" + reason + ")" : "";
    stale.hidden = !reason;
  }

  async function refresh() {
    try {
      const response = await fetch(options.url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 401) {
        window.location.assign(options.loginUrl);
        return;
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      options.render(await response.json());
      markStale("");
    } catch (error) {
      markStale(error.message || "the web admin is not answering");
    }
    window.setTimeout(refresh, options.every);
  }

  window.setTimeout(refresh, options.every);
};
