// The navigation's count of unanswered chats (open conversations with customer messages no agent
// has read), on every console page, and the page title carrying it: "(2) Tickets · Deskline".
// Pages feed it from their own live stream (feed "chat"), so one stream per page serves both:
//
//   refreshUnansweredChats()  - on (re)connection, when events may have been missed
//   noteLiveEvent(type, event) - every event; chat events reload the count (once per burst)

import { api } from "./session.js";

const API = "/api/chat/conversations";
const PER_PAGE_MAX = 100;  // the API's largest page: beyond it the count shows "100+"
const plainTitle = document.title;
let request = 0;
let timer = null;

export function showUnansweredChats(count, more = false) {
  const badge = document.querySelector('[data-nav-badge="chats"]');
  const text = count ? `${count}${more ? "+" : ""}` : "";
  if (badge) {
    badge.textContent = text;
    badge.hidden = !count;
    badge.title = count ? `${text} chat${count === 1 ? "" : "s"} waiting for an answer` : "";
  }
  document.title = count ? `(${text}) ${plainTitle}` : plainTitle;
}

export async function refreshUnansweredChats() {
  const ticket = ++request;
  try {
    const data = await api(`${API}?${new URLSearchParams({ status: "open", per_page: PER_PAGE_MAX })}`);
    if (ticket !== request) return;
    showUnansweredChats(data.items.filter((c) => c.agent_unread > 0).length, data.total > data.items.length);
  } catch {
    // The count is a hint: keep the last one shown, the next event or reconnection retries.
  }
}

export function noteLiveEvent(type, event) {
  if (!event?.data?.conversation) return;
  clearTimeout(timer);
  timer = setTimeout(refreshUnansweredChats, 200);
}
