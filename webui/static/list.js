// List pages: instant search (the results fragment is swapped as you type) and the
// column chooser (columns hide at once; the choice is saved for the user).
// Served as a file: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  const results = document.querySelector("[data-list-results]");
  const search = document.querySelector("[data-list-search]");
  const chooser = document.querySelector("[data-column-chooser]");
  const csrfMeta = document.querySelector("meta[name='csrf-token']");
  const DEBOUNCE_MS = 250;

  function applyColumns() {
    if (!chooser) {
      return;
    }
    for (const box of chooser.querySelectorAll("[data-column-toggle]")) {
      const key = box.dataset.columnToggle;
      for (const cell of document.querySelectorAll("[data-col='" + key + "']")) {
        cell.hidden = !box.checked;
      }
    }
  }

  if (search && results) {
    const input = search.querySelector("input[name='q']");
    let timer = 0;
    let inFlight = null;

    async function refresh() {
      const params = new URLSearchParams(new FormData(search));
      if (!params.get("q")) {
        params.delete("q");
      }
      const url = search.action + (params.toString() ? "?" + params.toString() : "");
      if (inFlight) {
        inFlight.abort();
      }
      inFlight = new AbortController();
      try {
        const response = await fetch(url, {
          headers: { "X-Fragment": "1", Accept: "text/html" },
          credentials: "same-origin",
          cache: "no-store",
          signal: inFlight.signal,
        });
        if (response.redirected || !response.ok) {
          window.location.assign(url); // signed out, or an error page: show it whole
          return;
        }
        results.innerHTML = await response.text();
        applyColumns();
        window.history.replaceState(null, "", url);
        results.dataset.state = "ready";
      } catch (error) {
        if (error.name !== "AbortError") {
          window.location.assign(url);
        }
      }
    }

    input.addEventListener("input", function () {
      results.dataset.state = "loading";
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DEBOUNCE_MS);
    });
    search.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      refresh();
    });
  }

  if (chooser) {
    const url = chooser.dataset.columnsUrl;
    const save = chooser.querySelector("[data-columns-save]");
    if (save) {
      save.hidden = true; // the script saves every change
    }
    chooser.addEventListener("change", async function (event) {
      if (!event.target.matches("[data-column-toggle]")) {
        return;
      }
      applyColumns();
      const columns = [];
      for (const box of chooser.querySelectorAll("[data-column-toggle]")) {
        if (box.checked) {
          columns.push(box.dataset.columnToggle);
        }
      }
      chooser.dataset.state = "saving";
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": csrfMeta ? csrfMeta.content : "",
        },
        credentials: "same-origin",
        body: JSON.stringify({ columns: columns }),
      });
      // A redirect means the sign-in ended: the choice was not saved.
      chooser.dataset.state = response.ok && !response.redirected ? "saved" : "failed";
    });
  }
})();
