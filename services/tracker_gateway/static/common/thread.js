// A chat thread's messages as DOM nodes, the same on the customer's page and the agent's Chats page.
// A body is plain text: it only ever goes in through textContent (el()), so markup in it is shown, never run.
import { el } from "./dom.js";
import { formatDateTime, formatTime } from "./time.js";

const AUTHORS = new Set(["customer", "agent", "system"]);

// One <li> for a message. `reader` ("customer" or "agent") is whose page this is: the customer's own
// messages are signed "You" on theirs.
export function messageNode(message, reader) {
  const author = AUTHORS.has(message.author) ? message.author : "system";
  const who = author === "customer" && reader === "customer" ? "You" : message.author_name;
  return el("li", { class: `msg msg-${author}`, dataset: { id: String(message.id) } },
    author === "system" ? null : el("span", { class: "who" }, who),
    el("p", { class: "body" }, linkify(message.body)),
    el("time", { datetime: message.created_at, title: formatDateTime(message.created_at) }, formatTime(message.created_at)));
}

// Links a message may carry: web pages and e-mail addresses, written with their scheme. Anything else
// (javascript:, data:, a bare "www.") stays text.
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"']+/gi;
const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);
const TRAILING = /[.,;:!?)\]}]+$/;  // "see https://x.io/a." ends the sentence, not the link

// A message body as text nodes and <a> elements, for textContent-only rendering: each link opens
// in a new tab, with no window.opener and no Referer for the page it leads to.
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const href = match[0].replace(TRAILING, "");
    let url;
    try { url = new URL(href); } catch { continue; }
    if (!LINK_SCHEMES.has(url.protocol)) continue;
    parts.push(text.slice(last, match.index));
    parts.push(el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer" }, href));
    last = match.index + href.length;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== "");
}

// A reply box: Enter sends, Shift+Enter is a new line (and Enter that ends an IME composition is not a send).
export function sendOnEnter(textarea, send) {
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
}

// Keeps a thread's <ol> in message-id order without duplicates (a post's answer and the next poll
// or event can bring the same message), and the cursors for "newer" and "older".
export class Thread {
  constructor(list, reader) {
    this.list = list;
    this.reader = reader;
    this.reset();
  }

  reset() {
    this.list.replaceChildren();
    this.ids = new Set();
    this.newest = 0;
    this.oldest = null;
  }

  nearBottom() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
  }

  // Adds what is new; returns the messages actually added.
  add(messages, { older = false } = {}) {
    const fresh = messages.filter((m) => !this.ids.has(m.id)).sort((a, b) => a.id - b.id);
    if (!fresh.length) return fresh;
    const stick = !older && this.nearBottom();
    if (older) {
      const height = this.list.scrollHeight;
      this.list.prepend(...fresh.map((m) => messageNode(m, this.reader)));
      this.list.scrollTop += this.list.scrollHeight - height;  // keep the reader's place
    } else {
      for (const message of fresh) {
        const node = messageNode(message, this.reader);
        // Ids grow in commit order: one newer than all shown goes last, an event that overtook
        // its predecessor goes in its place.
        const after = message.id > this.newest ? null
          : [...this.list.children].find((child) => Number(child.dataset.id) > message.id) || null;
        this.list.insertBefore(node, after);
      }
    }
    for (const message of fresh) {
      this.ids.add(message.id);
      this.newest = Math.max(this.newest, message.id);
      this.oldest = this.oldest === null ? message.id : Math.min(this.oldest, message.id);
    }
    if (stick || fresh.some((m) => m.author === this.reader)) this.scrollToEnd();
    return fresh;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }
}
