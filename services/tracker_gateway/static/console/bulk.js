// Bulk actions on the tickets list (issue 14): a checkbox per row, shift-click for a range, the page's
// box, "select all N matching this filter", then one request to POST /api/entities/ticket/bulk that
// sets status, priority, category or assignee, or deletes (after a confirmation), and a summary of
// what changed, what already was so, and which tickets failed and why (those stay selected).
//
//   initBulk({ reload, filters })   reload(): the list again; filters(): the list's current filters
//   selectBox(ticket)               the row's checkbox (tickets.js puts it in each row)
//   listRendered(page, filters)     after each render: keeps the selection in step with the list

import { $, el } from "../common/dom.js";
import { api } from "./session.js";
import { label, toast } from "./ui.js";

const BULK_MAX = 1000;
const UNASSIGN = "__none__";
const FIELDS = ["status", "priority", "category", "assigned_to"];

const list = $("ticket-list");
const bar = $("bulk-bar");
const pageBox = $("select-page");
const matching = $("select-matching");
const result = $("bulk-result");
const confirmDialog = $("bulk-confirm");

const selected = new Map();  // ticket id -> number, across pages
let allMatching = false;     // every ticket the filter matches, not only those ticked
let page = { items: [], total: 0 };
let filterKey = null;
let anchor = null;           // the ticket id of the last box clicked: shift-click selects from it (a live
                             // refresh of the list in between keeps it)
let hooks = { reload() {}, filters: () => ({}) };

const boxes = () => [...list.querySelectorAll("input.row-select")];

export function selectBox(ticket) {
  return el("input", {
    type: "checkbox", class: "row-select", "aria-label": `Select ${ticket.ticket_number}`,
    dataset: { id: ticket.id, ticketNumber: ticket.ticket_number },  // not data-number: that names the row links
    checked: allMatching || selected.has(ticket.id),
  });
}

function selectionFilter() {
  const { sort, ...filters } = hooks.filters();
  return filters;
}

function count() {
  return allMatching ? page.total : selected.size;
}

function plural(n, word = "ticket") {
  return `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
}

function show() {
  const n = count();
  bar.hidden = n === 0;
  $("bulk-count").textContent = allMatching ? `All ${plural(n)} matching this filter selected` : `${plural(n)} selected`;
  const onPage = boxes();
  const ticked = onPage.filter((box) => box.checked).length;
  pageBox.checked = onPage.length > 0 && ticked === onPage.length;
  pageBox.indeterminate = ticked > 0 && ticked < onPage.length;
  // Every row of this page ticked and more match: offer them all (a batch holds at most BULK_MAX).
  const offer = pageBox.checked && page.total > onPage.length && !allMatching;
  matching.hidden = !(offer || allMatching);
  matching.disabled = offer && page.total > BULK_MAX;
  matching.textContent = allMatching ? "Select only this page"
    : page.total > BULK_MAX ? `${plural(page.total)} match: narrow the filter to act on them all (at most ${BULK_MAX.toLocaleString()})`
      : `Select all ${plural(page.total)} matching this filter`;
}

function setBox(box, on) {
  box.checked = on;
  if (on) selected.set(box.dataset.id, box.dataset.ticketNumber);
  else selected.delete(box.dataset.id);
}

export function clearSelection() {
  selected.clear();
  allMatching = false;
  anchor = null;
  for (const box of boxes()) box.checked = false;
  show();
}

export function listRendered(rendered, filters) {
  page = rendered;
  const key = JSON.stringify(selectionFilter(filters));
  if (filterKey !== null && key !== filterKey) clearSelection();  // another filter: another set of tickets
  filterKey = key;
  show();
}

list.addEventListener("click", (event) => {
  const box = event.target.closest("input.row-select");
  if (!box) return;
  const all = boxes();
  const at = all.indexOf(box);
  const from = all.findIndex((other) => other.dataset.id === anchor);
  if (allMatching) {  // unticking one row turns "all matching" into this page's ticks
    allMatching = false;
    for (const other of all) setBox(other, true);
  }
  if (event.shiftKey && from >= 0) {
    const [first, last] = from < at ? [from, at] : [at, from];
    for (const other of all.slice(first, last + 1)) setBox(other, box.checked);
  } else {
    setBox(box, box.checked);
  }
  anchor = box.dataset.id;
  show();
});

pageBox.addEventListener("change", () => {
  allMatching = false;
  for (const box of boxes()) setBox(box, pageBox.checked);
  show();
});

matching.addEventListener("click", () => {
  allMatching = !allMatching;
  if (!allMatching) {
    selected.clear();
    for (const box of boxes()) setBox(box, true);
  }
  for (const box of boxes()) box.checked = true;
  show();
});

function chosenChanges() {
  const changes = {};
  for (const field of FIELDS) {
    const value = bar.querySelector(`[name="${field}"]`).value;
    if (value) changes[field] = value === UNASSIGN ? null : value;
  }
  return changes;
}

function describe(body, verb) {
  const parts = [`${verb} ${plural(body.changed)}`];
  if (body.unchanged) parts.push(`${plural(body.unchanged)} already had these values`);
  if (body.failed.length) parts.push(`${plural(body.failed.length)} failed`);
  return parts.join(" · ");
}

function showResult(body, verb) {
  const failures = body.failed.map((failure) => {
    const reasons = Object.entries(failure.errors || {}).map(([field, why]) => `${label(field)}: ${why.join(" ")}`);
    return el("li", {}, el("strong", {}, selected.get(failure.ticket) || failure.ticket), ` ${reasons.join("; ") || failure.message}`);
  });
  result.className = `bulk-result ${body.failed.length ? "bulk-result-partial" : "bulk-result-ok"}`;
  result.replaceChildren(el("p", {}, describe(body, verb)), ...(failures.length ? [el("ul", { class: "bulk-failures" }, failures)] : []));
  result.hidden = false;
}

async function run(action, verb) {
  const n = count();
  const body = allMatching ? { filter: selectionFilter(), ...action } : { tickets: [...selected.keys()], ...action };
  const buttons = bar.querySelectorAll("button, select");
  for (const control of buttons) control.disabled = true;
  $("bulk-count").textContent = `Working on ${plural(n)}…`;
  try {
    const answer = await api("/api/entities/ticket/bulk", { method: "POST", body });
    showResult(answer, verb);
    // What failed stays selected, to try again; the rest is done.
    const failed = new Set(answer.failed.map((failure) => failure.ticket));
    const keep = allMatching ? [] : [...selected].filter(([id]) => failed.has(id));
    clearSelection();
    for (const [id, number] of keep) selected.set(id, number);
    for (const field of FIELDS) bar.querySelector(`[name="${field}"]`).value = "";
    hooks.reload();
  } catch (error) {
    result.className = "bulk-result bulk-result-partial";
    result.replaceChildren(el("p", {}, error.outcomeUnknown
      ? "No answer in time: the changes may have been made. Check the list before trying again."
      : `Nothing was changed: ${Object.entries(error.fieldErrors).map(([f, why]) => `${label(f)}: ${JSON.stringify(why)}`).join("; ") || error.message}`));
    result.hidden = false;
  } finally {
    for (const control of buttons) control.disabled = false;
    show();
  }
}

export function initBulk(given) {
  hooks = { ...hooks, ...given };
  $("bulk-apply").addEventListener("click", () => {
    const changes = chosenChanges();
    if (!Object.keys(changes).length) {
      toast("Choose a status, priority, category or assignee to set.", "error");
      return;
    }
    run({ changes }, "Changed");
  });
  $("bulk-delete").addEventListener("click", () => {
    $("bulk-confirm-count").textContent = plural(count());
    confirmDialog.returnValue = "";
    confirmDialog.showModal();
  });
  confirmDialog.addEventListener("close", () => { if (confirmDialog.returnValue === "delete") run({ delete: true }, "Deleted"); });
  $("bulk-clear").addEventListener("click", () => { clearSelection(); result.hidden = true; });
  show();
}
