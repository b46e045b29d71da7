// The tickets dashboard: filters and paging in the URL, the list, the detail panel beside it, and
// live updates that refresh both without touching what the agent is typing.

import { $, el, phoneDigits, setFieldError } from "../common/dom.js";
import { formatDateTime, formatRelative, timeOf } from "../common/time.js";
import { api } from "./session.js";
import { initBulk, listRendered, selectBox } from "./bulk.js";
import { openLive } from "./live.js";
import { noteLiveEvent, refreshUnansweredChats } from "./nav.js";
import { shareMessage } from "./share.js";
import { isUnread, markSeen, messageEntry, wireDownloads, wireOriginals, wireReplyBox } from "./conversation.js";
import { wireNewTicket } from "./new-ticket.js";
import { refreshSlaChips, slaChip, slaFacts } from "./sla.js";
import { chip, copyText, hideBanner, label, showBanner, showQuery, showRetrying, toast } from "./ui.js";

const FILTERS = ["q", "queue", "status", "priority", "category", "assigned_to", "sla", "sort"];
const DEFAULT_SORT = "-created_at";
const EDITABLE = ["status", "priority", "category", "assigned_to", "resolution_notes", "customer_phone"];
const NULLABLE = new Set(["assigned_to", "resolution_notes", "customer_phone"]);
const PER_PAGE = 20;
const NOTES_MAX = 20000;
const SAVE_ATTEMPTS = 5;

const layout = $("tickets-layout");
const list = $("ticket-list");
const filtersForm = $("filters");
const panel = $("panel");
const form = $("p-form");
const listAlert = $("list-alert");
const panelAlert = $("p-alert");
const confirmDialog = $("confirm-delete");

// The client's agents (e-mail -> name), as the server rendered them into the assignee filter.
const agentNames = new Map([...$("f-assignee").options].filter((o) => o.value).map((o) => [o.value, o.textContent]));
const personName = (email) => (email ? agentNames.get(email) || email : "Unassigned");

// -- the URL is the view: filters, page and open ticket, so any view can be bookmarked or shared --

function readUrl() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return { filters, page: Math.max(1, parseInt(params.get("page"), 10) || 1), ticket: params.get("ticket") };
}

function writeUrl({ replace = false } = {}) {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = view.filters[name];
    if (value && !(name === "sort" && value === DEFAULT_SORT)) params.set(name, value);
  }
  if (view.page > 1) params.set("page", String(view.page));
  if (view.ticket) params.set("ticket", view.ticket);
  showQuery(params, { replace });
}

function showFiltersOf(current) {
  for (const name of FILTERS) {
    const control = filtersForm.elements[name];
    control.value = current.filters[name] || (name === "sort" ? DEFAULT_SORT : "");
  }
}

function filtersFromForm() {
  const filters = {};
  for (const name of FILTERS) {
    const value = filtersForm.elements[name].value.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

let view = readUrl();

// -- the list --

let listRequest = null;
let listRetry = null;
let listRefreshTimer = null;
const recentlyChanged = new Set();

function ticketHref(number) {
  const params = new URLSearchParams(location.search);
  params.set("ticket", number);
  return `${location.pathname}?${params}`;
}

function firstLine(text) {
  const line = String(text || "").split("\n").find((part) => part.trim()) || "";
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

function customerOf(ticket) {
  const parts = [ticket.customer_name, ticket.customer_email].filter(Boolean);
  return parts.length ? parts.join(" · ") : "No customer details";
}

function rowFor(ticket) {
  const selected = ticket.ticket_number === view.ticket;
  const changed = recentlyChanged.has(ticket.id);
  const unread = !selected && isUnread(ticket);
  return el("li", { class: "ticket-item" }, selectBox(ticket),
    el("a", {
      class: `ticket-row${selected ? " selected" : ""}${changed ? " flash" : ""}${unread ? " unread" : ""}`,
      href: ticketHref(ticket.ticket_number), "aria-current": selected ? "true" : null,
      dataset: { number: ticket.ticket_number, id: ticket.id },
    },
      el("span", { class: "row-top" },
        el("span", { class: "ticket-number" }, ticket.ticket_number),
        el("span", { class: "row-title" }, ticket.title),
        unread ? el("span", { class: "unread-mark" }, "New message") : null,
        el("span", { class: "chips" }, chip("status", ticket.status), chip("priority", ticket.priority), slaChip(ticket))),
      el("span", { class: "row-desc" }, firstLine(ticket.description)),
      el("span", { class: "row-meta" },
        el("span", { class: "row-customer" }, customerOf(ticket)),
        el("span", { class: `row-assignee${ticket.assigned_to ? "" : " none"}` }, personName(ticket.assigned_to)),
        relativeTime("row-created", ticket.created_at, "Created"),
        timeOf(ticket.updated_at) - timeOf(ticket.created_at) >= 60_000
          ? relativeTime("row-updated", ticket.updated_at, "Updated") : null)));
}

// "12 min ago" in the row, the full date and time on hover; refreshed every minute (below).
function relativeTime(className, iso, what) {
  return el("time", { class: className, datetime: iso, title: `${what} ${formatDateTime(iso)}`, dataset: { relative: what } },
    relativeText(what, iso));
}

function relativeText(what, iso) {
  return what === "Created" ? formatRelative(iso) : `${what.toLowerCase()} ${formatRelative(iso)}`;
}

setInterval(() => {
  for (const node of list.querySelectorAll("time[data-relative]")) {
    node.textContent = relativeText(node.dataset.relative, node.getAttribute("datetime"));
  }
  refreshSlaChips(list);
}, 60_000);

function renderList(page) {
  const focusedNumber = document.activeElement?.dataset?.number;
  list.replaceChildren(...page.items.map(rowFor));
  recentlyChanged.clear();
  $("list-total").textContent = page.total ? `(${page.total})` : "";
  // Nothing at all yet (no filter narrows it): say where tickets come from instead of "no match".
  const firstRun = page.total === 0 && Object.keys(view.filters).every((name) => name === "sort");
  $("list-first-run").hidden = !firstRun;
  $("list-empty").hidden = page.items.length > 0 || firstRun;
  const first = page.total ? (page.page - 1) * page.per_page + 1 : 0;
  const last = (page.page - 1) * page.per_page + page.items.length;
  $("page-range").textContent = page.total ? `${first}–${last} of ${page.total}` : "";
  $("page-prev").disabled = page.page <= 1;
  $("page-next").disabled = last >= page.total;
  if (focusedNumber) list.querySelector(`a[data-number="${CSS.escape(focusedNumber)}"]`)?.focus();
  listRendered(page, view.filters);
  document.dispatchEvent(new CustomEvent("deskline:list-rendered", { detail: { filters: view.filters, total: page.total } }));
}

async function loadList() {
  clearTimeout(listRetry);
  listRequest?.abort();
  const request = (listRequest = new AbortController());
  const params = new URLSearchParams({ sort: DEFAULT_SORT, ...view.filters, page: view.page, per_page: PER_PAGE });
  list.setAttribute("aria-busy", "true");
  try {
    const page = await api(`/api/entities/ticket?${params}`, { signal: request.signal });
    // Past the last page (after deletions): show the last one there is.
    const pages = Math.max(1, Math.ceil(page.total / page.per_page));
    if (view.page > pages) {
      view.page = pages;
      writeUrl({ replace: true });
      return loadList();
    }
    hideBanner(listAlert);
    layout.classList.remove("stale");
    renderList(page);
  } catch (error) {
    if (error.name === "AbortError") return;
    layout.classList.add("stale");
    if (error.retryable) {
      showRetrying(listAlert, "Tickets", error.retryAfter);
      listRetry = setTimeout(loadList, error.retryAfter * 1000);
    } else if (error.status === 422) {
      const fields = Object.keys(error.fieldErrors).map(label).join(", ");
      showBanner(listAlert, `These filters are not valid: ${fields}. Clear them to see every ticket.`);
    } else {
      showBanner(listAlert, error.message);
    }
  } finally {
    if (listRequest === request) list.setAttribute("aria-busy", "false");
  }
}

// Events come in bursts (a chat creating several tickets): one reload for a burst.
function refreshListSoon() {
  clearTimeout(listRefreshTimer);
  listRefreshTimer = setTimeout(loadList, 250);
}

function applyFilters({ replace = false } = {}) {
  view.filters = filtersFromForm();
  view.page = 1;
  writeUrl({ replace });
  loadList();
}

let searchTimer = null;
filtersForm.addEventListener("submit", (event) => { event.preventDefault(); applyFilters(); });
filtersForm.addEventListener("change", (event) => { if (event.target.name !== "q") applyFilters(); });
filtersForm.elements.q.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => applyFilters({ replace: true }), 300);
});
$("f-clear").addEventListener("click", (event) => {
  event.preventDefault();
  filtersForm.reset();
  showFiltersOf({ filters: {} });
  applyFilters();
});
$("filters-toggle").addEventListener("click", () => {
  const open = filtersForm.classList.toggle("open");
  $("filters-toggle").setAttribute("aria-expanded", String(open));
});
$("page-prev").addEventListener("click", () => { view.page -= 1; writeUrl(); loadList(); });
$("page-next").addEventListener("click", () => { view.page += 1; writeUrl(); loadList(); });

list.addEventListener("click", (event) => {
  const row = event.target.closest("a.ticket-row");
  if (!row || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  openTicket(row.dataset.number, { push: true });
});

function markSelectedRow() {
  for (const row of list.querySelectorAll("a.ticket-row")) {
    const selected = row.dataset.number === view.ticket;
    row.classList.toggle("selected", selected);
    if (selected) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
  }
}

// -- the detail panel --

// The open ticket: the server's values of the editable fields (`base`), to tell edits from updates.
let current = null;
let panelRequest = null;
let panelRetry = null;
let emailsRetry = null;
// Unsaved edits of tickets the agent moved away from, restored when they come back.
const drafts = new Map();

const replyBox = wireReplyBox($("p-reply"), {
  target: () => current?.id || null,
  send: (ticketId, message, key) => api(`/api/entities/ticket/${ticketId}/messages`, { method: "POST", body: message, headers: { "Idempotency-Key": key } }),
  onSent(sent, message) {
    toast(message.visibility === "internal" ? "Internal note added" : message.status ? `Reply sent, ticket ${label(message.status).toLowerCase()}` : "Reply sent", "success");
    if (!current || current.id !== sent.ticket_id) return;  // the agent has moved to another ticket
    if (!current.messages.some((m) => m.id === sent.id)) current.messages.push(sent);
    renderTimeline();
    loadPanel(current.number);
    refreshListSoon();
  },
});
wireDownloads($("p-timeline"), (message) => showBanner(panelAlert, message));
wireOriginals($("p-timeline"), (message) => showBanner(panelAlert, message));

const control = (field) => form.elements[field];
const valueOf = (ticket, field) => ticket[field] ?? "";

function display(field, value) {
  if (field === "assigned_to") return personName(value);
  if (field === "resolution_notes") return value ? "edited notes" : "no notes";
  return label(value);
}

function ensureOption(select, value) {
  if (select.tagName !== "SELECT" || !value || [...select.options].some((o) => o.value === value)) return;
  select.append(el("option", { value }, personName(value)));
}

function dirtyFields() {
  return current ? EDITABLE.filter((field) => control(field).value !== current.base[field]) : [];
}

function showDirty() {
  const dirty = dirtyFields();
  $("p-dirty").hidden = dirty.length === 0;
  for (const field of EDITABLE) control(field).closest(".field").classList.toggle("edited", dirty.includes(field));
  const notes = control("resolution_notes").value.length;
  const counter = $("p-notes-count");
  counter.textContent = `${notes.toLocaleString()} / ${NOTES_MAX.toLocaleString()}`;
  counter.classList.toggle("over", notes > NOTES_MAX);
}

function setFieldMessage(kind, field, text) {
  const node = $(`p-${kind}-${field}`);
  if (!node) return false;
  if (kind === "e") {
    setFieldError(control(field), node, text);
  } else {
    node.textContent = text || "";
    node.hidden = !text;
  }
  return true;
}

function clearFieldMessages(kind) {
  for (const field of EDITABLE) setFieldMessage(kind, field, "");
}

// CSAT (public/rating.py): the face and the word say the rating, the colour only repeats it.
const RATING_FACES = { good: "🙂", okay: "😐", bad: "🙁" };

function ratingBadge(rating) {
  return el("span", { class: `badge rating-${rating}`, id: "p-rating-badge" }, `${RATING_FACES[rating] || ""} ${label(rating)}`);
}

function renderTicketFacts(ticket) {
  $("p-number").textContent = ticket.ticket_number;
  $("p-title").textContent = ticket.title;
  $("p-chips").replaceChildren(chip("status", ticket.status), chip("priority", ticket.priority), chip("category", ticket.category));
  $("p-description").textContent = ticket.description;
  $("p-customer-name").textContent = ticket.customer_name || "—";
  const email = $("p-customer-email");
  email.replaceChildren(ticket.customer_email ? el("a", { href: `mailto:${ticket.customer_email}` }, ticket.customer_email) : "—");
  $("p-customer-phone").replaceChildren(ticket.customer_phone ? el("a", { href: `tel:${ticket.customer_phone}` }, ticket.customer_phone) : "—");
  $("p-conversation").textContent = ticket.conversation_id || "—";
  $("p-rating").replaceChildren(ticket.rating
    ? el("span", {}, ratingBadge(ticket.rating), " ", el("time", { datetime: ticket.rated_at }, formatDateTime(ticket.rated_at)))
    : (["resolved", "closed"].includes(ticket.status) ? "Not rated yet" : "—"));
  for (const [id, key] of [["p-created", "created_at"], ["p-updated", "updated_at"], ["p-resolved", "resolved_at"], ["p-closed", "closed_at"]]) {
    $(id).replaceChildren(ticket[key] ? el("time", { datetime: ticket[key] }, formatDateTime(ticket[key])) : "—");
  }
  $("p-created-by").textContent = ticket.created_by ? personName(ticket.created_by) : "—";
  $("p-sla").replaceChildren(...slaFacts(ticket));
}

// A ticket from the server (a load, a save's answer, a live event). Fields the agent has not
// touched follow the server; a field being edited keeps the edit and says what changed meanwhile.
function applyTicket(ticket, { actor } = {}) {
  if (current.ticket && timeOf(ticket.updated_at) < timeOf(current.ticket.updated_at)) return;  // an older copy
  const first = !current.ticket;
  for (const field of EDITABLE) {
    const input = control(field);
    const next = valueOf(ticket, field);
    ensureOption(input, next);
    if (first) {
      input.value = next;
    } else {
      const before = current.base[field];
      if (input.value === before) input.value = next;
      else if (next !== before && input.value !== next) {
        setFieldMessage("n", field, `Meanwhile ${actor ? `${personName(actor)} changed` : "changed"} this to ${display(field, next)}. Your edit is kept until you save.`);
      }
      if (input.value === next) setFieldMessage("n", field, "");
    }
    current.base[field] = next;
  }
  current.ticket = ticket;
  renderTicketFacts(ticket);
  showDirty();
}

function setPanelOpen(open) {
  panel.hidden = !open;
  $("panel-empty").hidden = open;
  layout.classList.toggle("has-panel", open);
  document.body.classList.toggle("panel-open", open);
}

function keepDraft() {
  const dirty = dirtyFields();
  if (!current) return;
  if (dirty.length) drafts.set(current.number, Object.fromEntries(dirty.map((field) => [field, control(field).value])));
  else drafts.delete(current.number);
}

function startPanel(number) {
  keepDraft();
  current = { number, id: null, ticket: null, base: {}, history: [], messages: [], emails: [], deleted: false };
  replyBox.reset();
  clearTimeout(panelRetry);
  clearTimeout(emailsRetry);
  hideBanner(panelAlert);
  clearFieldMessages("e");
  clearFieldMessages("n");
  $("p-saved").hidden = true;
  $("p-number").textContent = number;
  $("p-title").textContent = "Loading…";
  $("p-chips").replaceChildren();
  $("p-timeline").replaceChildren();
  $("p-emails-state").hidden = true;
  panel.classList.add("loading");
  setFormEnabled(false);
}

function setFormEnabled(enabled) {
  for (const element of form.elements) element.disabled = !enabled;
  for (const id of ["p-share", "p-delete", "p-copy-number", "p-copy-link"]) $(id).disabled = !enabled;
  replyBox.setEnabled(enabled);
}

async function openTicket(number, { push = false, focus = true } = {}) {
  number = number.toUpperCase();
  if (view.ticket !== number || !current || current.number !== number) {
    view.ticket = number;
    writeUrl({ replace: !push });
    startPanel(number);
  }
  setPanelOpen(true);
  markSelectedRow();
  await loadPanel(number, { focus });
}

async function loadPanel(number, { focus = false } = {}) {
  clearTimeout(panelRetry);
  panelRequest?.abort();
  const request = (panelRequest = new AbortController());
  try {
    const data = await api(`/api/console/tickets/${encodeURIComponent(number)}`, { signal: request.signal });
    if (!current || current.number !== number) return;
    hideBanner(panelAlert);
    const fresh = !current.ticket;
    current.id = data.ticket.id;
    current.followedUp = false;
    applyTicket(data.ticket);
    if (fresh) restoreDraft(number);
    current.history = data.history;
    current.messages = data.messages || [];
    markSeen(data.ticket);
    const opened = list.querySelector(`a[data-number="${CSS.escape(number)}"]`);
    opened?.classList.remove("unread");
    opened?.querySelector(".unread-mark")?.remove();
    showTracking(data);
    panel.classList.remove("loading");
    setFormEnabled(!current.deleted);
    renderTimeline();
    loadEmails(number);
    if (focus) $("p-title").focus({ preventScroll: false });
  } catch (error) {
    if (error.name === "AbortError" || !current || current.number !== number) return;
    if (error.status === 404) {
      panel.classList.remove("loading");
      $("p-title").textContent = "Not found";
      showBanner(panelAlert, `Ticket ${number} does not exist or was deleted.`);
    } else if (error.retryable) {
      showRetrying(panelAlert, `Ticket ${number}`, error.retryAfter);
      panelRetry = setTimeout(() => loadPanel(number), error.retryAfter * 1000);
    } else {
      showBanner(panelAlert, error.message);
    }
  }
}

function restoreDraft(number) {
  const draft = drafts.get(number);
  if (!draft) return;
  for (const [field, value] of Object.entries(draft)) control(field).value = value;
  drafts.delete(number);
  showDirty();
}

function showTracking(data) {
  $("p-track-url").value = data.tracking_url || data.tracker_url;
  $("p-track-hint").textContent = data.tracking_url
    ? "Opens this ticket for the customer without a form; it works for their e-mail address only."
    : `No customer e-mail on this ticket: the customer enters ${current.number} and their e-mail address on this page.`;
}

// E-mails follow a change by a moment (the notifier hears of it as the page does): after a recent
// change, or while one is still on its way, look again shortly.
const EMAIL_FOLLOW_UP_MS = 3000;
const RECENT_MS = 60_000;

async function loadEmails(number) {
  clearTimeout(emailsRetry);
  const state = $("p-emails-state");
  try {
    const data = await api(`/api/console/tickets/${encodeURIComponent(number)}/emails`);
    if (!current || current.number !== number) return;
    current.emails = data.items;
    state.hidden = true;
    const unsettled = data.items.some((mail) => mail.status === "pending" || mail.status === "sending");
    const recent = Date.now() - timeOf(current.ticket.updated_at) < RECENT_MS;
    if (unsettled || (recent && !current.followedUp)) {
      current.followedUp = !unsettled;
      emailsRetry = setTimeout(() => loadEmails(number), EMAIL_FOLLOW_UP_MS);
    }
  } catch (error) {
    if (!current || current.number !== number) return;
    current.emails = [];
    state.textContent = error.retryable
      ? "E-mails sent to the customer cannot be shown right now (the notifier is not answering); retrying."
      : `E-mails sent to the customer cannot be shown: ${error.message}`;
    state.hidden = false;
    if (error.retryable) emailsRetry = setTimeout(() => loadEmails(number), 15000);
  }
  renderTimeline();
}

// -- the conversation: messages, the ticket's history and the e-mails about it, oldest first --

const EMAIL_KINDS = {
  created: "Ticket created", updated: "Ticket updated", resolved: "Ticket resolved",
  sms_created: "Ticket created", sms_resolved: "Ticket resolved",
};
const EMAIL_STATES = {
  sent: "sent", pending: "queued", sending: "sending", skipped: "not sent (no customer e-mail)",
  failed: "failed", dead: "failed",
};

function historyText(entry) {
  if (entry.action === "created") return "Ticket created";
  if (entry.action === "deleted") return "Ticket deleted";
  if (entry.action === "sla_warning") return `⏰ SLA warning: 80 % of the ${label(entry.field).toLowerCase()} target used`;
  if (entry.action === "sla_breached") return `⚠ SLA breached: ${label(entry.field).toLowerCase()} target missed`;
  if (entry.action === "rated") {
    const rating = `${RATING_FACES[entry.new_value] || ""} ${label(entry.new_value)}`;
    return entry.old_value ? `Customer changed their rating to ${rating} (was ${label(entry.old_value)})` : `Customer rated the resolution ${rating}`;
  }
  const field = entry.field;
  if (field === "assigned_to") return entry.new_value ? `Assigned to ${personName(entry.new_value)}` : "Unassigned";
  if (field === "resolution_notes") return "Resolution notes edited";
  if (["status", "priority", "category"].includes(field)) {
    return `${label(field)}: ${label(entry.old_value) || "—"} → ${label(entry.new_value) || "—"}`;
  }
  return `${label(field)} changed`;
}

function timelineItems() {
  // At one moment: the ticket's creation, then messages (a reply before the status change it made), then the rest.
  const items = current.messages.map((message) => messageEntry(message, current.id, personName));
  items.push(...current.history.map((entry) => ({
    at: entry.at,
    kind: entry.action === "updated" ? `change tl-${entry.field}${entry.field === "status" ? ` tl-to-${entry.new_value}` : ""}` : entry.action,
    text: historyText(entry),
    by: entry.actor ? `by ${personName(entry.actor)}` : "",
  })));
  for (const mail of current.emails) {
    const failed = mail.status === "failed" || mail.status === "dead";
    items.push({
      at: mail.sent_at || mail.created_at,
      kind: `email email-${mail.status}`,
      text: `${mail.kind.startsWith("sms_") ? "SMS" : "E-mail"} “${EMAIL_KINDS[mail.kind] || label(mail.kind)}” ${EMAIL_STATES[mail.status] || mail.status}${mail.recipient ? ` to ${mail.recipient}` : ""}`,
      by: failed && mail.last_error ? mail.last_error : mail.subject || "",
    });
  }
  const rank = (item) => (item.kind === "created" ? 0 : item.node ? 1 : 2);
  // Oldest first, as a conversation reads; entries of the same moment and rank keep their order (the sort is stable).
  return items.sort((a, b) => timeOf(a.at) - timeOf(b.at) || rank(a) - rank(b));
}

function renderTimeline() {
  if (!current) return;
  $("p-timeline").replaceChildren(...timelineItems().map((item) => item.node || el("li", { class: `tl ${item.kind}` },
    el("span", { class: "dot", "aria-hidden": "true" }),
    el("span", { class: "what" }, item.text),
    el("span", { class: "when" }, el("time", { datetime: item.at }, formatDateTime(item.at)), item.by ? ` · ${item.by}` : ""))));
}

// -- saving, deleting, copying --

function describeChanges(changes) {
  return Object.entries(changes || {}).map(([field, change]) => (field === "resolution_notes"
    ? "Resolution notes updated"
    : `${label(field)}: ${display(field, change.from ?? "")} → ${display(field, change.to ?? "")}`));
}

async function save(attempt = 1) {
  if (!current || !current.id) return;
  control("customer_phone").value = phoneDigits(control("customer_phone").value);  // "+1 415 555 0123" is fine too
  const changes = {};
  for (const field of dirtyFields()) {
    const value = control(field).value;
    changes[field] = NULLABLE.has(field) && value === "" ? null : value;
  }
  clearFieldMessages("e");
  const saved = $("p-saved");
  if (!Object.keys(changes).length) {
    saved.textContent = "Nothing to save: no field was changed.";
    saved.hidden = false;
    return;
  }
  const button = $("p-save");
  button.disabled = true;
  button.textContent = "Saving…";
  const number = current.number;
  try {
    const { changes: applied, ...ticket } = await api(`/api/entities/ticket/${current.id}`, { method: "PATCH", body: changes });
    if (!current || current.number !== number) return;
    hideBanner(panelAlert);
    applyTicket(ticket);
    const lines = describeChanges(applied);
    saved.replaceChildren(el("strong", {}, lines.length ? "Saved." : "Saved: nothing had changed."), ...lines.map((line) => el("span", { class: "change" }, line)));
    saved.hidden = false;
    clearFieldMessages("n");
    loadPanel(number);
    refreshListSoon();
  } catch (error) {
    if (!current || current.number !== number) return;
    const fields = error.fieldErrors;
    if (error.status === 422 && Object.keys(fields).length) {
      const elsewhere = Object.entries(fields).filter(([field, reasons]) => !setFieldMessage("e", field, reasons.join(" ")));
      showBanner(panelAlert, elsewhere.length
        ? `Not saved: ${elsewhere.map(([field, reasons]) => `${label(field)}: ${reasons.join(" ")}`).join("; ")}`
        : "Not saved: please correct the highlighted field.");
      form.querySelector("[aria-invalid=true]")?.focus();
    } else if (error.outcomeUnknown) {
      showBanner(panelAlert, "The changes may have been saved; reload the ticket to check before saving again. Your changes are kept.");
    } else if (error.retryable && attempt < SAVE_ATTEMPTS) {
      showRetrying(panelAlert, "Saving (your changes are kept)", error.retryAfter);
      setTimeout(() => save(attempt + 1), error.retryAfter * 1000);
    } else if (error.status === 404) {
      markDeleted();
    } else {
      showBanner(panelAlert, `Not saved: ${error.message} Your changes are kept.`);
    }
  } finally {
    button.disabled = !current || current.deleted;
    button.textContent = "Update ticket";
  }
}

function markDeleted(actor) {
  if (!current) return;
  current.deleted = true;
  setFormEnabled(false);
  showBanner(panelAlert, `This ticket was deleted${actor ? ` by ${personName(actor)}` : ""}.`, "warning");
}

function closePanel({ push = true } = {}) {
  keepDraft();
  const number = current?.number;
  current = null;
  panelRequest?.abort();
  clearTimeout(panelRetry);
  clearTimeout(emailsRetry);
  view.ticket = null;
  if (push) writeUrl();
  setPanelOpen(false);
  markSelectedRow();
  if (number) list.querySelector(`a[data-number="${CSS.escape(number)}"]`)?.focus();
}

async function removeTicket() {
  const number = current.number;
  try {
    await api(`/api/entities/ticket/${current.id}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) {
      showBanner(panelAlert, error.outcomeUnknown
        ? "The ticket may have been deleted; reload the list to check before trying again."
        : error.retryable ? "Not deleted: service unavailable. Try again in a moment." : `Not deleted: ${error.message}`);
      return;
    }
  }
  drafts.delete(number);
  closePanel();
  toast(`${number} deleted`);
  loadList();
}

async function copy(text, done) {
  try {
    await copyText(text);
    toast(done, "success");
  } catch (error) {
    toast("Copying was refused by the browser; select the text and copy it by hand.", "error");
  }
}

form.addEventListener("submit", (event) => { event.preventDefault(); save(); });
form.addEventListener("input", () => { showDirty(); $("p-saved").hidden = true; });
form.addEventListener("change", showDirty);
form.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); save(); }
});
$("p-close").addEventListener("click", () => closePanel());
$("p-copy-number").addEventListener("click", () => copy(current.number, `Copied ${current.number}`));
$("p-copy-link").addEventListener("click", () => copy($("p-track-url").value, "Tracking link copied"));
$("p-share").addEventListener("click", () => copy(shareMessage(current.ticket), "Message for the customer copied"));
$("p-delete").addEventListener("click", () => {
  $("confirm-number").textContent = current.number;
  confirmDialog.returnValue = "";
  confirmDialog.showModal();
});
confirmDialog.addEventListener("close", () => { if (confirmDialog.returnValue === "delete" && current) removeTicket(); });

// -- keyboard: / search, j/k (or arrows) through the list, Enter opens, Esc closes --

document.addEventListener("keydown", (event) => {
  if (confirmDialog.open || event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "Escape") {
    if (typing) event.target.blur();
    else if (current) closePanel();
    return;
  }
  if (typing) return;
  if (event.key === "/") {
    event.preventDefault();
    filtersForm.elements.q.focus();
    filtersForm.elements.q.select();
    return;
  }
  const step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[event.key];
  if (!step) return;
  const rows = [...list.querySelectorAll("a.ticket-row")];
  if (!rows.length) return;
  const at = rows.indexOf(event.target.closest("a.ticket-row"));
  const from = at >= 0 ? at : rows.findIndex((row) => row.dataset.number === view.ticket);
  const next = rows[Math.min(rows.length - 1, Math.max(0, from < 0 ? 0 : from + step))];
  event.preventDefault();
  next.focus();
});

window.addEventListener("popstate", () => {
  view = readUrl();
  showFiltersOf(view);
  loadList();
  if (view.ticket && view.ticket !== current?.number) openTicket(view.ticket, { focus: false });
  else if (!view.ticket && current) closePanel({ push: false });
});

// -- live: another agent's or a chat's changes appear without a reload --

openLive({
  feeds: ["tickets", "chat"],
  // (Re)connected: events may have been missed meanwhile, so reload what is shown.
  onReady() {
    document.dispatchEvent(new CustomEvent("deskline:live-ready"));
    loadList();
    if (current) loadPanel(current.number);
    refreshUnansweredChats();
  },
  onEvent(type, event) {
    noteLiveEvent(type, event);
    if (type.startsWith("ticket.")) document.dispatchEvent(new CustomEvent("deskline:ticket-event", { detail: { type, event } }));
    const ticket = event.data?.ticket;
    if (!ticket) return;
    recentlyChanged.add(ticket.id);
    refreshListSoon();
    if (!current || ticket.id !== current.id) return;
    if (type === "ticket.message_added") markSeen(ticket);  // it arrives in the open panel: read
    if (type === "ticket.deleted") markDeleted(event.data.actor);
    else {
      applyTicket(ticket, { actor: event.data.actor });
      loadPanel(current.number);
    }
  },
});

// Assign to me: only the assignee changes (other edits in the form stay unsaved, as they were).
async function assignToMe() {
  if (!current?.id) return;
  const number = current.number;
  try {
    const { changes, ...ticket } = await api(`/api/entities/ticket/${current.id}`, { method: "PATCH", body: { assigned_to: me } });
    if (!current || current.number !== number) return;
    applyTicket(ticket);
    toast(`${number} assigned to you`, "success");
    loadPanel(number);
    refreshListSoon();
  } catch (error) {
    showBanner(panelAlert, `Not assigned: ${error.message}`);
  }
}
const me = $("queues").dataset.agentEmail;
$("p-assign-me").addEventListener("click", assignToMe);
initBulk({ reload: loadList, filters: () => view.filters });
wireNewTicket((ticket) => { loadList(); openTicket(ticket.ticket_number, { push: true }); });

showFiltersOf(view);
loadList();
if (view.ticket) openTicket(view.ticket, { focus: false });
else setPanelOpen(false);
