// The tickets page's sidebar (issue 14): queues and saved views with live counts. The counts come from
// GET /api/queues (one query in the tickets service) on load and whenever the page's live stream brings a
// ticket event (tickets.js passes each on as a "deskline:ticket-event"): no polling. A burst of events
// (a bulk action) makes one refresh. Links open their list in place (the list's own popstate handling).
// A view the agent may change (their own; the team's for admins) can be renamed, given the list's current
// filters and sort (the same dialog, PUT), or deleted.

import { $, el } from "../common/dom.js";
import { api } from "./session.js";
import { toast } from "./ui.js";

const aside = $("queues");
const viewList = $("view-list");
const state = $("queues-state");
const dialog = $("view-dialog");
const BURST_MS = 100;
const VIEW_KEYS = ["q", "queue", "status", "priority", "category", "assigned_to", "sort"];

let timer = null;
let inFlight = null;
let again = false;
let eventAt = null;  // when the event that asked for this refresh arrived (performance.now())

function viewQuery(search) {
  const params = new URLSearchParams(search);
  const kept = new URLSearchParams();
  for (const key of VIEW_KEYS) {
    const value = params.get(key);
    if (value && !(key === "sort" && value === "-created_at")) kept.set(key, value);
  }
  kept.sort();
  return kept.toString();
}

function markCurrent() {
  const here = viewQuery(location.search);
  for (const link of aside.querySelectorAll("a.queue-link")) {
    const current = viewQuery(new URL(link.href).search) === here;
    link.classList.toggle("current", current);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showCount(node, value) {
  node.textContent = value === null || value === undefined ? "–" : value.toLocaleString();
}

function viewItem(view) {
  const link = el("a", { class: "queue-link", href: `${location.pathname}${view.query ? `?${view.query}` : ""}`, dataset: { view: view.id } },
    el("span", { class: "queue-name" }, view.name, view.shared ? el("span", { class: "shared-mark", title: "Shared with the team" }, " · team") : null),
    el("span", { class: "queue-count" }, view.count === null ? "–" : view.count.toLocaleString()));
  const edit = view.editable
    ? el("button", { type: "button", class: "icon-btn view-edit", "aria-label": `Change view ${view.name}`,
      title: "Rename, or give it the list's current filters", dataset: { id: view.id, name: view.name } }, "✎")
    : null;
  const remove = view.editable
    ? el("button", { type: "button", class: "icon-btn view-delete", "aria-label": `Delete view ${view.name}`, dataset: { id: view.id } }, "×")
    : null;
  return el("li", { class: "view-item" }, link, edit, remove);
}

let editable = new Map();

async function refresh() {
  if (inFlight) { again = true; return; }
  const started = eventAt;
  eventAt = null;
  inFlight = Promise.all([api("/api/queues"), api("/api/views")]);
  try {
    const [counts, views] = await inFlight;
    for (const node of aside.querySelectorAll("[data-count]")) showCount(node, counts.queues[node.dataset.count]);
    editable = new Map(views.items.map((view) => [view.id, view.editable]));
    viewList.replaceChildren(...counts.views.map((view) => viewItem({ ...view, editable: editable.get(view.id) })));
    $("views-empty").hidden = counts.views.length > 0;
    state.textContent = "";
    aside.dataset.refreshedAt = String(Date.now());
    // How long after the event the counts showed (docs/performance.md; the browser test reads it).
    if (started !== null) aside.dataset.refreshMs = String(Math.round(performance.now() - started));
    markCurrent();
  } catch (error) {
    state.textContent = error.retryable ? "Counts unavailable; they come back with the next change." : error.message;
  } finally {
    inFlight = null;
    if (again) { again = false; refresh(); }
  }
}

function refreshSoon() {
  if (eventAt === null) eventAt = performance.now();
  clearTimeout(timer);
  timer = setTimeout(refresh, BURST_MS);
}

document.addEventListener("deskline:ticket-event", refreshSoon);
document.addEventListener("deskline:live-ready", refresh);
document.addEventListener("deskline:list-rendered", markCurrent);

// A queue or view opens its list in place: the URL changes and the list reads it (tickets.js, popstate).
aside.addEventListener("click", async (event) => {
  const edit = event.target.closest("button.view-edit");
  if (edit) {
    openDialog({ id: edit.dataset.id, name: edit.dataset.name });
    return;
  }
  const remove = event.target.closest("button.view-delete");
  if (remove) {
    try {
      await api(`/api/views/${remove.dataset.id}`, { method: "DELETE" });
      toast("View deleted");
      refresh();
    } catch (error) {
      toast(`Not deleted: ${error.message}`, "error");
    }
    return;
  }
  const link = event.target.closest("a.queue-link");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  history.pushState(null, "", link.href);
  window.dispatchEvent(new PopStateEvent("popstate"));
  markCurrent();
});
window.addEventListener("popstate", markCurrent);

// -- saving the list's current filters and sort as a view --

// `editing`: the view being changed ({id, name}), or null for a new one.
function openDialog(editing = null) {
  dialog.dataset.editing = editing ? editing.id : "";
  $("view-dialog-title").textContent = editing ? "Change this view" : "Save this view";
  $("view-save").textContent = editing ? "Save changes" : "Save view";
  $("view-name").value = editing ? editing.name : "";
  $("view-refilter-row").hidden = !editing;
  // Offered, not assumed: renaming a view from another list must not replace its filters unasked.
  $("view-refilter").checked = false;
  if ($("view-shared-row")) $("view-shared-row").hidden = Boolean(editing);  // sharing is chosen when it is made
  $("view-error").hidden = true;
  dialog.returnValue = "";
  dialog.showModal();
}

$("save-view").addEventListener("click", () => openDialog());

$("view-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "save") return;
  event.preventDefault();
  const shared = $("view-shared")?.checked || false;
  const editing = dialog.dataset.editing;
  const query = viewQuery(location.search);
  try {
    if (editing) {
      const body = { name: $("view-name").value, ...($("view-refilter").checked ? { query } : {}) };
      await api(`/api/views/${editing}`, { method: "PUT", body });
    } else {
      await api("/api/views", { method: "POST", body: { name: $("view-name").value, query, shared } });
    }
    dialog.close("save");
    toast(editing ? "View changed" : "View saved", "success");
    refresh();
  } catch (error) {
    const reasons = Object.values(error.fieldErrors).flat();
    const node = $("view-error");
    node.textContent = reasons.join(" ") || error.message;
    node.hidden = false;
  }
});

markCurrent();
refresh();
