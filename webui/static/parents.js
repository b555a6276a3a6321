// Parents editor of the customer card form: "Add provider card" adds a row and each row
// gets a "Remove" button. Without script the form shows a few blank rows instead (a row
// left at "— none —" is ignored by the server), so this only makes it tidier.
"use strict";

(function () {
  const editor = document.querySelector("[data-parents-editor]");
  if (!editor) {
    return;
  }
  const body = editor.querySelector("[data-parent-rows]");
  const rows = Array.from(body.querySelectorAll("[data-parent-row]"));
  if (!rows.length) {
    return;
  }
  function isBlank(row) {
    return !row.querySelector("[data-parent-field='provider_card_id']").value;
  }
  const template = rows[rows.length - 1].cloneNode(true);
  let next = rows.length;

  function clean(row) {
    for (const error of row.querySelectorAll(".field-error")) {
      error.remove();
    }
    for (const cell of row.querySelectorAll(".field-invalid")) {
      cell.classList.remove("field-invalid");
    }
    for (const field of row.querySelectorAll("[aria-invalid]")) {
      field.removeAttribute("aria-invalid");
    }
  }

  function renumber(row, index) {
    for (const field of row.querySelectorAll("[data-parent-field]")) {
      const name = field.dataset.parentField;
      field.name = "parents-" + index + "-" + name;
      const oldId = field.id;
      field.id = "p-" + index + "-" + name;
      const label = row.querySelector("label[for='" + oldId + "']");
      if (label) {
        label.htmlFor = field.id;
      }
    }
  }

  // Labels count the rows shown ("row 1", "row 2", ...); names keep their own index.
  function relabel() {
    const shown = body.querySelectorAll("[data-parent-row]");
    shown.forEach(function (row, i) {
      for (const label of row.querySelectorAll("label")) {
        label.textContent = label.textContent.replace(/row \d+/, "row " + (i + 1));
      }
    });
  }

  function addRemove(row) {
    const cell = row.querySelector("[data-parent-actions]");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button-link";
    button.textContent = "Remove";
    button.setAttribute("data-testid", "remove-parent");
    button.addEventListener("click", function () {
      row.remove();
      relabel();
    });
    cell.replaceChildren(button);
  }

  function addRow() {
    const row = template.cloneNode(true);
    clean(row);
    for (const field of row.querySelectorAll("input")) {
      field.value = "";
    }
    row.querySelector("select").value = "";
    renumber(row, next);
    next += 1;
    addRemove(row);
    body.appendChild(row);
    relabel();
    return row;
  }

  const filled = rows.filter(function (row) { return !isBlank(row); });
  for (const row of rows) {
    if (isBlank(row) && row.querySelectorAll(".field-error").length === 0) {
      row.remove();
    } else {
      addRemove(row);
    }
  }
  if (!filled.length && !body.querySelector("[data-parent-row]")) {
    addRow();
  }
  relabel();

  const add = document.createElement("button");
  add.type = "button";
  add.className = "button button-secondary";
  add.textContent = "Add provider card";
  add.setAttribute("data-testid", "add-parent");
  add.addEventListener("click", function () {
    addRow().querySelector("select").focus();
  });
  const hint = editor.querySelector("[data-parents-hint]");
  hint.textContent = "Parents are tried in priority order (lower first); ties by cost " +
    "following the card's strategy.";
  editor.insertBefore(add, hint);
})();
