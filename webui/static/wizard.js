// Upload wizard of a rate card (provider_cards/mapping.html): shows at once a field
// chosen for two columns, whether the required fields are chosen, which preview rows
// the first data row skips, and the date input only when scheduling. The server
// checks all of this again; without script the page works the same.
"use strict";

(function () {
  const form = document.querySelector("[data-wizard-mapping]");
  if (!form) {
    return;
  }
  const selects = Array.from(form.querySelectorAll("[data-map-select]"));
  const required = Array.from(document.querySelectorAll("[data-required]"));
  const firstRow = form.querySelector("[data-first-row]");
  const rows = Array.from(form.querySelectorAll("tbody tr[data-row]"));
  const dateLive = form.querySelector("[data-date-live]");
  const whens = Array.from(form.querySelectorAll("input[name='when']"));

  function label(select) {
    const option = select.options[select.selectedIndex];
    return option ? option.textContent.trim() : select.value;
  }

  function columnName(select) {
    const own = form.querySelector("label[for='" + select.id + "']");
    return own ? own.textContent.trim() : select.id;
  }

  function refreshColumns() {
    const chosen = new Map();
    for (const select of selects) {
      if (select.value) {
        chosen.set(select.value, (chosen.get(select.value) || []).concat([select]));
      }
    }
    for (const select of selects) {
      const live = select.parentElement.querySelector("[data-live-error]");
      const others = (select.value ? chosen.get(select.value) : []).filter(function (s) {
        return s !== select;
      });
      live.hidden = others.length === 0;
      live.textContent = others.length
        ? label(select) + " is also chosen for " + others.map(columnName).join(", ") + "."
        : "";
      select.setAttribute("aria-invalid", others.length ? "true" : "false");
      select.parentElement.classList.toggle("field-invalid", others.length > 0);
    }
    for (const item of required) {
      const ok = chosen.has(item.dataset.required);
      item.classList.toggle("req-ok", ok);
      item.classList.toggle("req-missing", !ok);
      item.dataset.state = ok ? "ok" : "missing";
    }
  }

  function refreshRows() {
    const first = Number(firstRow.value) || 1;
    for (const row of rows) {
      row.classList.toggle("row-skipped", Number(row.dataset.row) < first);
    }
  }

  function refreshWhen() {
    const schedule = whens.some(function (w) { return w.checked && w.value === "schedule"; });
    dateLive.hidden = !schedule;
  }

  for (const select of selects) {
    // The server's message about a field chosen twice is out of date once a choice
    // changes: from now on the live message says it.
    select.addEventListener("change", function () {
      for (const old of select.parentElement.querySelectorAll("[data-error-for]")) {
        old.remove();
      }
      refreshColumns();
    });
  }
  firstRow.addEventListener("input", refreshRows);
  for (const w of whens) {
    w.addEventListener("change", refreshWhen);
  }
  refreshColumns();
  refreshRows();
  refreshWhen();
})();
