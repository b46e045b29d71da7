// The agent's Chats page: the client's conversations (newest activity first, unread marked), the
// open thread with its reply box, assignment and closing, and the "Create Ticket" dialog. Live: the
// console's event stream (feed "chat") brings each message as it is posted, both ways.

import { $, EMAIL_SHAPE, el, setFieldError as markField } from "../common/dom.js";
import { Thread, sendOnEnter } from "../common/thread.js";
import { formatTime } from "../common/time.js";
import { api } from "./session.js";
import { openLive } from "./live.js";
import { noteLiveEvent, refreshUnansweredChats } from "./nav.js";
import { chip, hideBanner, label, showBanner, showQuery, showRetrying, toast } from "./ui.js";

const API = "/api/chat/conversations";
const PER_PAGE = 20;
// The list's views: by status, and "missed" (left unanswered by the customer, not handled yet).
const STATUSES = ["open", "closed", "missed"];
const EMPTY_TEXT = {
  open: "No open conversations. New chats appear here as soon as a customer writes.",
  closed: "No closed conversations.",
  missed: "No missed chats: every customer who left got an answer, or an agent has followed up.",
};

// Missed and not handled yet: it stays in the "Missed" list.
const isMissed = (conversation) => Boolean(conversation.missed_at && !conversation.handled_at);
const TITLE_MAX = 200;
const TEXT_MAX = 20000;
const NAME_MAX = 200;

const layout = $("chats-layout");
const list = $("c-list");
const pane = $("t-pane");
const dialog = $("ticket-dialog");
const dialogForm = $("td-form");
const me = layout.dataset.agentEmail;
const agentNames = new Map([...$("t-assign").options].filter((o) => o.value).map((o) => [o.value, o.textContent]));
const thread = new Thread($("t-messages"), "agent");

// -- the URL is the view: which conversations, which page, which one is open --

function readUrl() {
  const params = new URLSearchParams(location.search);
  return {
    status: STATUSES.includes(params.get("status")) ? params.get("status") : "open",
    page: Math.max(1, parseInt(params.get("page"), 10) || 1),
    conversation: params.get("c"),
  };
}

function writeUrl({ replace = false } = {}) {
  const params = new URLSearchParams();
  if (view.status !== "open") params.set("status", view.status);
  if (view.page > 1) params.set("page", String(view.page));
  if (view.conversation) params.set("c", view.conversation);
  showQuery(params, { replace });
}

let view = readUrl();
let current = null;      // the open conversation (agent view)
let readUpTo = 0;        // the newest message id reported as read for it

// -- the list --

let listRequest = 0;
let listTimer = null;

function preview(conversation) {
  const last = conversation.last_message;
  if (!last) return el("span", { class: "conv-preview none" }, "No message yet");
  const who = last.author === "agent" ? `${last.author_name}: ` : "";
  return el("span", { class: `conv-preview from-${last.author}` }, who, last.preview);
}

function row(conversation) {
  const unread = conversation.agent_unread || 0;
  const assignee = conversation.assigned_to;
  return el("li", {},
    el("a", {
      class: `conv-row${unread ? " unread" : ""}${conversation.id === view.conversation ? " selected" : ""}`,
      href: `?${new URLSearchParams({ ...(view.status !== "open" ? { status: view.status } : {}), c: conversation.id })}`,
      dataset: { id: conversation.id },
      "aria-current": conversation.id === view.conversation ? "true" : null,
    },
    el("span", { class: "conv-top" },
      el("span", { class: "conv-name" }, conversation.customer_name),
      isMissed(conversation) ? el("span", { class: "missed-badge", title: "Left before anyone answered" }, "Missed") : null,
      unread ? el("span", { class: "unread-badge", title: `${unread} unread`, "aria-label": `${unread} unread` }, String(unread)) : null,
      el("time", { class: "conv-time", datetime: conversation.last_message_at }, formatTime(conversation.last_message_at))),
    preview(conversation),
    el("span", { class: "conv-meta" },
      ...(conversation.ticket_numbers || []).map((number) => el("span", { class: "ticket-number" }, number)),
      el("span", { class: `conv-assignee${assignee ? "" : " none"}` }, assignee ? agentNames.get(assignee) || assignee : "Unassigned"))));
}

async function loadList() {
  const ticket = ++listRequest;
  list.setAttribute("aria-busy", "true");
  try {
    const filter = view.status === "missed" ? { missed: "true" } : { status: view.status };
    const data = await api(`${API}?${new URLSearchParams({ ...filter, page: view.page, per_page: PER_PAGE })}`);
    if (ticket !== listRequest) return;
    hideBanner($("c-alert"));
    list.replaceChildren(...data.items.map(row));
    $("c-total").textContent = data.total ? `(${data.total})` : "";
    $("c-empty").textContent = EMPTY_TEXT[view.status];
    $("c-empty").hidden = data.items.length > 0;
    const first = (data.page - 1) * data.per_page + 1;
    $("c-range").textContent = data.total ? `${first}–${first + data.items.length - 1} of ${data.total}` : "";
    $("c-prev").disabled = data.page <= 1;
    $("c-next").disabled = data.page * data.per_page >= data.total;
  } catch (error) {
    if (ticket !== listRequest) return;
    if (error.retryable) {
      showRetrying($("c-alert"), "Conversations", error.retryAfter);
      refreshListSoon(error.retryAfter * 1000);
    } else showBanner($("c-alert"), error.message);
  } finally {
    if (ticket === listRequest) list.setAttribute("aria-busy", "false");
  }
}

// Events come in bursts (a message, then its read marker, a ticket link): one reload for a burst.
function refreshListSoon(ms = 200) {
  clearTimeout(listTimer);
  listTimer = setTimeout(loadList, ms);
}

function selectRow() {
  for (const link of list.querySelectorAll(".conv-row")) {
    const selected = link.dataset.id === view.conversation;
    link.classList.toggle("selected", selected);
    if (selected) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
}

// -- the open conversation --

function setPaneOpen(open) {
  pane.hidden = !open;
  $("t-empty").hidden = open;
  document.body.classList.toggle("panel-open", open);
}

function showConversation(conversation) {
  current = conversation;
  $("t-name").textContent = conversation.customer_name;
  const email = $("t-email");
  email.textContent = conversation.customer_email;
  email.href = `mailto:${conversation.customer_email}`;
  $("t-chips").replaceChildren(
    chip("status", conversation.status),
    isMissed(conversation) ? el("span", { class: "chip chip-missed", title: "The customer left before anyone answered; "
      + "they were e-mailed the transcript" }, "Missed") : null,
    ...(conversation.ticket_numbers || []).map((number) => el("a", {
      class: "ticket-number ticket-link", href: `/agent/tickets?ticket=${encodeURIComponent(number)}`,
      title: `Open ${number} in Tickets`,
    }, number)),
    el("span", { class: "conv-id", title: "Conversation ID" }, conversation.id),
  );
  const assign = $("t-assign");
  const assignee = conversation.assigned_to || "";
  if (assignee && ![...assign.options].some((o) => o.value === assignee)) assign.append(el("option", { value: assignee }, assignee));
  assign.value = assignee;
  const open = conversation.status === "open";
  assign.disabled = !open;
  $("t-close").hidden = !open;
  $("t-reply").hidden = !open;
  $("t-closed").hidden = open;
  $("t-handled").hidden = !isMissed(conversation);
  if (!open) $("t-reply-error").hidden = true;
}

async function openConversation(id, { push = true, focus = true } = {}) {
  view.conversation = id;
  writeUrl({ replace: !push });
  selectRow();
  setPaneOpen(true);
  thread.reset();
  readUpTo = 0;
  current = null;
  hideBanner($("t-alert"));
  $("t-older").hidden = true;
  pane.classList.add("loading");
  setReplyEnabled(false);  // nothing typed while loading can go to no conversation
  try {
    const data = await api(`${API}/${encodeURIComponent(id)}?limit=50`);
    if (view.conversation !== id) return;
    setReplyEnabled(true);
    showConversation(data.conversation);
    thread.add(data.messages);
    thread.scrollToEnd();
    $("t-older").hidden = !data.has_older;
    markRead();
    if (focus) (current.status === "open" ? $("t-body") : $("t-name")).focus();
  } catch (error) {
    if (view.conversation !== id) return;
    if (error.status === 404) {
      closeConversation();
      toast("That conversation does not exist (or is another client's).", "error");
    } else showBanner($("t-alert"), error.retryable ? "Chat is unavailable for the moment; try again shortly." : error.message);
  } finally {
    pane.classList.remove("loading");
  }
}

function closeConversation({ push = true } = {}) {
  view.conversation = null;
  current = null;
  thread.reset();
  writeUrl({ replace: !push });
  selectRow();
  setPaneOpen(false);
}

// What is new in the open thread, after a reconnection (events may have been missed).
async function catchUp() {
  if (!current) return;
  const id = current.id;
  try {
    let data;
    do {
      data = await api(`${API}/${encodeURIComponent(id)}?after=${thread.newest}&limit=200`);
      if (!current || current.id !== id) return;
      showConversation(data.conversation);
      thread.add(data.messages);
    } while (data.has_newer);
    markRead();
  } catch (error) {
    if (error.retryable) setTimeout(catchUp, error.retryAfter * 1000);
  }
}

// The agents have seen the thread: the customer's unread marker goes once the page is in view.
function markRead() {
  if (!current || document.hidden || thread.newest <= readUpTo) return;
  const id = current.id;
  readUpTo = thread.newest;
  api(`${API}/${encodeURIComponent(id)}/read`, { method: "POST", body: { up_to: readUpTo } })
    // Reading publishes no event (other pages catch up on the next one): recount here.
    .then(() => { refreshListSoon(); refreshUnansweredChats(); })
    .catch(() => { if (current && current.id === id) readUpTo = 0; });
}

async function loadOlder() {
  if (!current || thread.oldest === null) return;
  const id = current.id;
  try {
    const data = await api(`${API}/${encodeURIComponent(id)}?before=${thread.oldest}&limit=50`);
    if (!current || current.id !== id) return;
    thread.add(data.messages, { older: true });
    $("t-older").hidden = !data.has_older;
  } catch (error) {
    toast(error.message, "error");
  }
}

function setReplyEnabled(enabled) {
  for (const id of ["t-body", "t-send", "t-create-ticket", "t-close", "t-assign"]) $(id).disabled = !enabled;
}

function setReplyError(text) {
  markField($("t-body"), $("t-reply-error"), text);
}

async function sendReply() {
  if (!current) return;
  const body = $("t-body").value;
  if (!body.trim()) { setReplyError("Write a reply first."); $("t-body").focus(); return; }
  if (body.length > 5000) { setReplyError("A message holds at most 5,000 characters."); return; }
  setReplyError("");
  const id = current.id;
  $("t-send").disabled = true;
  try {
    const message = await api(`${API}/${encodeURIComponent(id)}/messages`, { method: "POST", body: { body } });
    if (current && current.id === id) {
      $("t-body").value = "";
      thread.add([message]);
      readUpTo = Math.max(readUpTo, message.id);  // replying means having read
    }
    refreshListSoon();
  } catch (error) {
    if (error.status === 409) { setReplyError("This conversation has been closed."); catchUp(); }
    else if (error.status === 422) setReplyError(Object.values(error.fieldErrors).flat().join(" ") || error.message);
    else if (error.outcomeUnknown) { setReplyError("The message may have been sent; check the conversation before sending it again."); catchUp(); }
    else setReplyError(error.retryable ? "Not sent: chat is unavailable for the moment. Try again." : error.message);
  } finally {
    $("t-send").disabled = false;
    $("t-body").focus();
  }
}

async function assign(agent) {
  if (!current) return;
  const id = current.id;
  const previous = current.assigned_to || "";
  try {
    const conversation = await api(`${API}/${encodeURIComponent(id)}/assign`, { method: "POST", body: { agent: agent || null } });
    if (current && current.id === id) showConversation(conversation);
    toast(agent ? `Assigned to ${agentNames.get(agent) || agent}` : "Unassigned", "success");
    refreshListSoon();
  } catch (error) {
    $("t-assign").value = previous;
    toast(error.status === 409 ? "The conversation is closed." : error.message, "error");
  }
}

async function closeChat() {
  if (!current) return;
  const id = current.id;
  $("t-close").disabled = true;
  try {
    const conversation = await api(`${API}/${encodeURIComponent(id)}/close`, { method: "POST" });
    if (current && current.id === id) { showConversation(conversation); catchUp(); }
    toast("Conversation closed", "success");
    refreshListSoon();
  } catch (error) {
    toast(error.message, "error");
  } finally {
    $("t-close").disabled = false;
  }
}

async function markHandled() {
  if (!current) return;
  const id = current.id;
  $("t-handled").disabled = true;
  try {
    const conversation = await api(`${API}/${encodeURIComponent(id)}/handled`, { method: "POST" });
    if (current && current.id === id) showConversation(conversation);
    toast("Marked handled", "success");
    refreshListSoon();
  } catch (error) {
    toast(error.message, "error");
  } finally {
    $("t-handled").disabled = false;
  }
}

// -- "Create Ticket": a dialog pre-filled from the conversation --

const FIELDS = ["customer_name", "customer_email", "title", "description", "priority", "category"];
const input = (name) => $(name === "title" ? "td-title-input" : `td-${name}`);

function setFieldError(name, message) {
  markField(input(name), $(`td-e-${name}`), message);
}

function countDescription() {
  const length = input("description").value.length;
  const counter = $("td-description-count");
  counter.textContent = `${length.toLocaleString()} / ${TEXT_MAX.toLocaleString()}`;
  counter.classList.toggle("over", length > TEXT_MAX);
}

function validateTicket(values) {
  const errors = {};
  if (!values.title) errors.title = "Give the ticket a title.";
  else if (values.title.length > TITLE_MAX) errors.title = `At most ${TITLE_MAX} characters.`;
  if (!values.description) errors.description = "Describe the issue.";
  else if (values.description.length > TEXT_MAX) errors.description = `At most ${TEXT_MAX.toLocaleString()} characters.`;
  if (values.customer_name && values.customer_name.length > NAME_MAX) errors.customer_name = `At most ${NAME_MAX} characters.`;
  if (values.customer_email && !EMAIL_SHAPE.test(values.customer_email)) errors.customer_email = "This does not look like an e-mail address.";
  return errors;
}

function showErrors(errors) {
  for (const name of FIELDS) setFieldError(name, errors[name]);
  const first = FIELDS.find((name) => errors[name]);
  if (first) input(first).focus();
  return Boolean(first);
}

// One key per dialog, sent with every try of its create: a retry after an unknown outcome (the tickets
// service slow or away) makes the one ticket, not a second one with a second e-mail.
let createKey = null;

function newCreateKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function showExistingTickets(numbers) {
  const notice = $("td-existing");
  notice.hidden = numbers.length === 0;
  if (!numbers.length) return;
  $("td-existing-links").replaceChildren(...numbers.flatMap((number, index) => [
    ...(index ? [", "] : []),
    el("a", { class: "ticket-number ticket-link", href: `/agent/tickets?ticket=${encodeURIComponent(number)}` }, number),
  ]));
}

async function openTicketDialog() {
  if (!current) return;
  const id = current.id;
  createKey = newCreateKey();
  showExistingTickets(current.ticket_numbers || []);
  dialogForm.reset();
  dialogForm.hidden = false;
  $("td-success").hidden = true;
  hideBanner($("td-alert"));
  showErrors({});
  $("td-submit").disabled = true;
  // The conversation's own details first, so the dialog is useful even before the draft arrives.
  input("customer_name").value = current.customer_name;
  input("customer_email").value = current.customer_email;
  $("td-conversation_id").value = id;
  countDescription();
  edited.clear();
  dialog.showModal();
  const stillOpen = () => dialog.open && $("td-conversation_id").value === id;
  try {
    const draft = await loadDraft(id, stillOpen);
    if (!stillOpen()) return;
    // The draft can come seconds late on a busy machine: what the agent typed meanwhile stays.
    for (const name of ["customer_name", "customer_email", "title", "description"]) {
      if (!edited.has(name)) input(name).value = draft[name] || "";
    }
    countDescription();
    if (!edited.size) {
      input("title").focus();
      input("title").select();
    }
  } catch (error) {
    if (!stillOpen()) return;
    showBanner($("td-alert"), `The transcript could not be loaded (${error.message}); write the description yourself.`, "warning");
  } finally {
    if (stillOpen()) $("td-submit").disabled = false;
  }
}

// The fields the agent has typed in since the dialog opened (the draft leaves them alone).
const edited = new Set();
const DRAFT_TRIES = 3;

// The draft is a read: a busy or restarting chat service (503, 504, no network) is asked again.
async function loadDraft(id, stillOpen) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api(`${API}/${encodeURIComponent(id)}/ticket-draft`);
    } catch (error) {
      if (!error.retryable || attempt >= DRAFT_TRIES || !stillOpen()) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(error.retryAfter, 1) * 1000));
    }
  }
}

async function submitTicket() {
  const values = {};
  for (const name of FIELDS) values[name] = input(name).value.trim();
  values.description = input("description").value.replace(/\s+$/, "");
  hideBanner($("td-alert"));
  if (showErrors(validateTicket(values))) return;
  const id = $("td-conversation_id").value;
  const body = { ...values, customer_name: values.customer_name || null, customer_email: values.customer_email || null };
  $("td-submit").disabled = true;
  try {
    const ticket = await api(`${API}/${encodeURIComponent(id)}/ticket`,
                             { method: "POST", body, headers: { "Idempotency-Key": createKey } });
    dialogForm.hidden = true;
    $("td-number").textContent = ticket.ticket_number;
    $("td-recipient").textContent = ticket.customer_email || "the customer";
    $("td-view").href = `/agent/tickets?ticket=${encodeURIComponent(ticket.ticket_number)}`;
    $("td-success").hidden = false;
    $("td-done").focus();
    toast(`Ticket ${ticket.ticket_number} created`, "success");
  } catch (error) {
    if (error.status === 422) {
      const errors = Object.fromEntries(Object.entries(error.fieldErrors).map(([field, reasons]) => [field, [].concat(reasons).join(" ")]));
      const unplaced = Object.keys(errors).filter((field) => !FIELDS.includes(field));
      showErrors(errors);
      if (unplaced.length) showBanner($("td-alert"), unplaced.map((field) => `${label(field)}: ${errors[field]}`).join(" "));
    } else if (error.status === 404) {
      showBanner($("td-alert"), "This conversation no longer exists.");
    } else {
      showBanner($("td-alert"), error.outcomeUnknown
        ? "No answer in time: the ticket may have been created. Trying again is safe: it will not make a second one."
        : error.retryable ? "Tickets are unavailable for the moment; nothing was created. Try again shortly." : error.message);
    }
  } finally {
    $("td-submit").disabled = false;
  }
}

dialogForm.addEventListener("submit", (event) => { event.preventDefault(); submitTicket(); });
dialogForm.addEventListener("input", (event) => {
  if (event.target.name) { edited.add(event.target.name); setFieldError(event.target.name, ""); }
  if (event.target === input("description")) countDescription();
});
for (const id of ["td-cancel", "td-cancel-x", "td-done"]) $(id).addEventListener("click", () => dialog.close());

// -- wiring --

list.addEventListener("click", (event) => {
  const link = event.target.closest("a.conv-row");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  openConversation(link.dataset.id);
});

for (const button of document.querySelectorAll(".segmented .seg")) {
  button.addEventListener("click", () => {
    if (view.status === button.dataset.status) return;
    view.status = button.dataset.status;
    view.page = 1;
    showStatusButtons();
    writeUrl();
    loadList();
  });
}

function showStatusButtons() {
  for (const button of document.querySelectorAll(".segmented .seg")) {
    button.setAttribute("aria-pressed", String(button.dataset.status === view.status));
  }
}

$("t-handled").addEventListener("click", markHandled);
$("c-prev").addEventListener("click", () => { view.page = Math.max(1, view.page - 1); writeUrl(); loadList(); });
$("c-next").addEventListener("click", () => { view.page += 1; writeUrl(); loadList(); });
$("t-reply").addEventListener("submit", (event) => { event.preventDefault(); sendReply(); });
sendOnEnter($("t-body"), sendReply);
$("t-body").addEventListener("input", () => { if (!$("t-reply-error").hidden) setReplyError(""); });
$("t-assign").addEventListener("change", (event) => assign(event.target.value));
$("t-close").addEventListener("click", closeChat);
$("t-create-ticket").addEventListener("click", openTicketDialog);
$("t-older").addEventListener("click", loadOlder);
$("t-dismiss").addEventListener("click", () => closeConversation());

document.addEventListener("keydown", (event) => {
  if (dialog.open || event.key !== "Escape") return;
  if (event.target.closest("input, textarea, select")) event.target.blur();
  else if (current) closeConversation();
});
document.addEventListener("visibilitychange", () => { if (!document.hidden) markRead(); });
window.addEventListener("popstate", () => {
  view = readUrl();
  showStatusButtons();
  loadList();
  if (view.conversation && view.conversation !== current?.id) openConversation(view.conversation, { push: false, focus: false });
  else if (!view.conversation && current) closeConversation({ push: false });
});

// -- live: the console's stream, feed "chat" --

openLive({
  feeds: ["chat"],
  // (Re)connected: events may have been missed meanwhile, so reload what is shown.
  onReady() {
    loadList();
    catchUp();
    refreshUnansweredChats();
  },
  onEvent(type, event) {
    noteLiveEvent(type, event);
    const conversation = event.data?.conversation;
    if (!conversation) return;
    refreshListSoon();
    if (!current || conversation.id !== current.id) return;
    // The event's conversation has no unread counts; everything else is as fresh as the message.
    showConversation({ ...current, ...conversation });
    if (event.data.message) {
      thread.add([event.data.message]);
      markRead();
    }
  },
});

showStatusButtons();
loadList();
if (view.conversation) openConversation(view.conversation, { push: false, focus: false });
else setPaneOpen(false);
