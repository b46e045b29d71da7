// A ticket's conversation on the tickets page: its messages as timeline entries (internal notes
// labelled and set apart), attachments downloaded with the agent's token, the reply box (reply to the
// customer, optionally marking the ticket pending or resolved, or an internal note), and which tickets
// hold a customer message the agent has not opened yet. An e-mail whose quoted history was cut shows
// "Show the whole e-mail", which fetches the text it came with and shows it below, as text.
import { el } from "../common/dom.js";
import { formatDateTime } from "../common/time.js";
import { accessToken, api } from "./session.js";
import { label } from "./ui.js";

const CHANNELS = { email: "by e-mail", tracker: "on the tracker", web: "by web form", chat: "in chat", agent: "" };

// -- messages in the timeline --

export function messageEntry(message, ticketId, personName) {
  const internal = message.visibility === "internal";
  const who = message.author_type === "agent"
    ? (message.author_name || personName(message.author_email))
    : message.author_name || message.author_email || label(message.author_type);
  return {
    at: message.created_at,
    node: el("li", { class: `tl msg msg-${message.author_type} msg-${internal ? "internal" : "public"}`, dataset: { messageId: String(message.id) } },
      el("span", { class: "dot", "aria-hidden": "true" }),
      el("div", { class: "msg-card" },
        el("p", { class: "msg-head" },
          internal ? el("span", { class: "note-label" }, "Internal note") : null,
          el("span", { class: "who" }, who),
          message.author_type === "customer" ? el("span", { class: "role" }, "Customer") : null,
          CHANNELS[message.channel] ? el("span", { class: "channel" }, CHANNELS[message.channel]) : null,
          el("time", { datetime: message.created_at }, formatDateTime(message.created_at))),
        el("p", { class: "msg-body" }, message.body),
        message.has_original
          ? el("button", {
            type: "button", class: "btn btn-ghost btn-small msg-original-toggle", "aria-expanded": "false",
            dataset: { url: `/api/entities/ticket/${encodeURIComponent(ticketId)}/messages/${message.id}/original` },
          }, "Show the whole e-mail")
          : null,
        message.attachments?.length
          ? el("ul", { class: "msg-files", "aria-label": "Attachments" }, ...message.attachments.map((file) => el("li", {},
            el("a", {
              class: "attachment", download: file.filename,
              href: `/api/entities/ticket/${encodeURIComponent(ticketId)}/attachments/${encodeURIComponent(file.id)}`,
            }, `${file.filename} (${formatSize(file.size)})`))))
          : null)),
  };
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// The download endpoint needs the bearer token, which a plain link cannot send: fetch, then save.
export function wireDownloads(container, onError) {
  container.addEventListener("click", async (event) => {
    const link = event.target.closest("a.attachment");
    if (!link || event.button !== 0) return;
    event.preventDefault();
    try {
      const response = await fetch(link.href, { headers: { Authorization: `Bearer ${await accessToken()}` }, cache: "no-store" });
      if (!response.ok) throw new Error(response.status === 404 ? "the file is gone" : `HTTP ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const save = el("a", { href: url, download: link.getAttribute("download") || "attachment", hidden: true });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      onError(`The file could not be downloaded: ${error.message}.`);
    }
  });
}

// "Show the whole e-mail": fetched once, then shown and hidden (text only: it is what a stranger sent).
export function wireOriginals(container, onError) {
  container.addEventListener("click", async (event) => {
    const toggle = event.target.closest("button.msg-original-toggle");
    if (!toggle || toggle.dataset.loading) return;  // a second click while it loads does nothing
    let shown = toggle.nextElementSibling?.classList.contains("msg-original") ? toggle.nextElementSibling : null;
    if (!shown) {
      toggle.dataset.loading = "1";
      try {
        const found = await api(toggle.dataset.url);
        shown = el("pre", { class: "msg-original", hidden: true }, found.original);
        toggle.after(shown);
      } catch (error) {
        onError(`The whole e-mail could not be loaded: ${error.message}.`);
        return;
      } finally {
        delete toggle.dataset.loading;
      }
    }
    shown.hidden = !shown.hidden;
    toggle.setAttribute("aria-expanded", String(!shown.hidden));
    toggle.textContent = shown.hidden ? "Show the whole e-mail" : "Hide the whole e-mail";
  });
}

// -- unread customer messages: per browser, what the agent last opened --

const SEEN_KEY = "deskline.tickets.seen";
const SINCE_KEY = "deskline.tickets.seenSince";

function seenMap() {
  try {
    return JSON.parse(localStorage.getItem(SEEN_KEY)) || {};
  } catch {
    return {};
  }
}

// Messages older than this browser's first visit are not news.
function since() {
  let value = localStorage.getItem(SINCE_KEY);
  if (!value) {
    value = new Date().toISOString();
    localStorage.setItem(SINCE_KEY, value);
  }
  return Date.parse(value);
}

export function isUnread(ticket) {
  if (!ticket.last_customer_message_at) return false;
  const at = Date.parse(ticket.last_customer_message_at);
  const seen = seenMap()[ticket.id];
  return at > Math.max(since(), seen ? Date.parse(seen) : 0);
}

export function markSeen(ticket) {
  const seen = seenMap();
  seen[ticket.id] = ticket.last_customer_message_at || new Date().toISOString();
  const entries = Object.entries(seen).sort((a, b) => Date.parse(b[1]) - Date.parse(a[1])).slice(0, 500);
  localStorage.setItem(SEEN_KEY, JSON.stringify(Object.fromEntries(entries)));
}

since();  // the first visit starts the clock

// -- the reply box --

function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// The reply box's files as the API takes them (base64 in the JSON body); the limits (the server's, on the
// input as data-max-files / data-max-bytes) are checked here first, so a reply is not sent only to be refused.
function fileProblem(files, input) {
  const maxFiles = Number(input.dataset.maxFiles);
  const maxBytes = Number(input.dataset.maxBytes);
  if (files.length > maxFiles) return `At most ${maxFiles} files.`;
  if (files.reduce((sum, file) => sum + file.size, 0) > maxBytes) return `At most ${maxBytes / (1024 * 1024)} MB of files in all.`;
  return "";
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function encodedFiles(files) {
  return Promise.all(files.map(async (file) => ({
    filename: file.name, content_type: file.type || "application/octet-stream", data_b64: await base64Of(file) })));
}

// `target()` names the open ticket; `send(ticketId, { body, visibility, status, attachments }, key)` posts
// the message to it (and throws the HttpError on failure). The ticket is taken when Send is pressed: reading
// files takes a moment, and a message never goes to a ticket the agent opened meanwhile.
export function wireReplyBox(form, { target, send, onSent }) {
  const body = form.elements.body;
  const filesInput = form.elements.files;
  const error = form.querySelector(".field-error");
  // One key per message being written: a retry after a lost answer adds it once.
  let key = newKey();
  let busy = false;

  function mode() {
    return form.elements.visibility.value;
  }

  function showMode() {
    const note = mode() === "internal";
    form.classList.toggle("note-mode", note);
    form.querySelector("#p-reply-send").textContent = note ? "Add internal note" : "Send reply";
    body.placeholder = note ? "A note for the team: the customer never sees it" : "Write to the customer";
    form.querySelector("#p-reply-label").textContent = note ? "Internal note" : "Reply to customer";
    form.querySelector("#p-reply-hint").textContent = note
      ? "Only agents see internal notes; they are never e-mailed."
      : "The customer sees this reply.";
  }

  function showError(message) {
    error.textContent = message || "";
    error.hidden = !message;
    body.setAttribute("aria-invalid", message ? "true" : "false");
  }

  form.addEventListener("change", (event) => { if (event.target.name === "visibility") showMode(); });
  body.addEventListener("input", () => showError(""));
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const text = body.value.trim();
    if (!text) { showError(mode() === "internal" ? "Write the note first." : "Write the reply first."); body.focus(); return; }
    const ticketId = target();
    if (!ticketId) return;
    const status = mode() === "public" ? event.submitter?.value || null : null;
    const files = Array.from(filesInput?.files || []);
    const problem = files.length ? fileProblem(files, filesInput) : "";
    if (problem) { showError(`Not sent: ${problem}`); filesInput.focus(); return; }
    busy = true;
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    try {
      const attachments = files.length ? await encodedFiles(files) : [];
      if (target() !== ticketId) return;  // another ticket was opened while the files were read: nothing sent
      const message = { body: text, visibility: mode(), ...(status ? { status } : {}), ...(attachments.length ? { attachments } : {}) };
      const sent = await send(ticketId, message, key);
      body.value = "";
      if (filesInput) filesInput.value = "";
      key = newKey();
      showError("");
      onSent(sent, message);
    } catch (failure) {
      const reasons = failure.fieldErrors ? Object.entries(failure.fieldErrors).map(([field, why]) => `${label(field)}: ${[].concat(why).join(" ")}`) : [];
      showError(reasons.length ? `Not sent: ${reasons.join("; ")}`
        : failure.outcomeUnknown ? "No answer in time: it may have been sent. Sending again is safe, it will not be added twice."
          : failure.retryable ? "Not sent: the service is unavailable. Your text is kept; try again shortly."
            : `Not sent: ${failure.message} Your text is kept.`);
    } finally {
      busy = false;
      for (const button of form.querySelectorAll("button")) button.disabled = false;
    }
  });

  return {
    reset() {
      body.value = "";
      if (filesInput) filesInput.value = "";
      key = newKey();
      form.elements.visibility.value = "public";
      showMode();
      showError("");
    },
    setEnabled(enabled) {
      for (const element of form.elements) element.disabled = !enabled;
    },
  };
}
