// CSV import wizard (customers/import*.html): the upload page warns at once about a
// file over the size limit; the columns page shows, as you choose, which required
// fields are still missing and which field is chosen for two columns. The server
// checks all of this again; without script the pages work the same.
"use strict";

(function () {
  const upload = document.querySelector("[data-import-upload]");
  if (upload) {
    const input = upload.querySelector("input[type='file']");
    const message = upload.querySelector("[data-import-size-error]");
    const submit = upload.querySelector("button[type='submit']");
    const max = Number(input.dataset.maxBytes);
    input.addEventListener("change", function () {
      const file = input.files && input.files[0];
      const tooBig = Boolean(file && max && file.size > max);
      message.hidden = !tooBig;
      message.textContent = tooBig
        ? "This file is " + (file.size / 1048576).toFixed(1) + " MB; at most " +
          Math.floor(max / 1048576) + " MB can be imported at once: split it into smaller files."
        : "";
      submit.disabled = tooBig;
    });
  }

  const mapping = document.querySelector("[data-import-mapping]");
  if (!mapping) {
    return;
  }
  const selects = Array.from(mapping.querySelectorAll("[data-map-select]"));
  const required = Array.from(document.querySelectorAll("[data-required]"));
  const defaults = Array.from(mapping.querySelectorAll("[data-default-for]"));

  function columnTitle(select) {
    const label = mapping.querySelector("label[for='" + select.id + "']");
    return label ? label.textContent.trim() : select.id;
  }

  function fieldLabel(select) {
    const option = select.options[select.selectedIndex];
    return option ? option.textContent.replace(" (required)", "").trim() : select.value;
  }

  function refresh() {
    const chosen = new Map();
    for (const select of selects) {
      if (select.value) {
        const list = chosen.get(select.value) || [];
        list.push(select);
        chosen.set(select.value, list);
      }
    }
    for (const select of selects) {
      const live = select.parentElement.querySelector("[data-live-error]");
      const same = select.value ? chosen.get(select.value) : [];
      const others = same.filter(function (s) { return s !== select; });
      if (live) {
        live.hidden = others.length === 0;
        live.textContent = others.length
          ? fieldLabel(select) + " is also chosen for " + others.map(columnTitle).join(", ") +
            ": choose it once."
          : "";
      }
      select.setAttribute("aria-invalid", others.length ? "true" : "false");
      select.parentElement.classList.toggle("field-invalid", others.length > 0);
      select.closest("tr").classList.toggle("row-invalid", others.length > 0);
    }
    for (const item of required) {
      const field = item.dataset.required;
      const byDefault = defaults.some(function (d) {
        return d.dataset.defaultFor === field && d.value.trim() !== "";
      });
      const ok = chosen.has(field) || byDefault;
      item.dataset.state = ok ? "ok" : "missing";
      item.classList.toggle("req-ok", ok);
      item.classList.toggle("req-missing", !ok);
      const state = item.querySelector(".req-state");
      if (state) {
        state.textContent = ok ? "✓" : "(not chosen)";
      }
    }
  }

  for (const select of selects) {
    // The server's message about a field chosen twice is shown live from now on; it
    // would be out of date as soon as a choice changes.
    for (const old of select.parentElement.querySelectorAll("[data-error-for]")) {
      old.remove();
    }
    select.addEventListener("change", refresh);
  }
  for (const input of defaults) {
    input.addEventListener("input", refresh);
  }
  refresh();
})();
