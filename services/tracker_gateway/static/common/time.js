// Dates and times in the reader's own locale and time zone (the server sends and renders UTC).

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function parse(iso) {
  const moment = iso ? new Date(iso) : null;
  return moment && !Number.isNaN(moment.getTime()) ? moment : null;
}

export function formatDate(iso) { const moment = parse(iso); return moment ? dateFormat.format(moment) : ""; }
export function formatDateTime(iso) { const moment = parse(iso); return moment ? dateTimeFormat.format(moment) : ""; }
export function timeOf(iso) { return parse(iso)?.getTime() ?? 0; }

// "14:03" today, "29 Nov 2025, 14:03" before.
export function formatTime(iso) {
  const moment = parse(iso);
  if (!moment) return "";
  return (new Date().toDateString() === moment.toDateString() ? clockFormat : dateTimeFormat).format(moment);
}

// Every server-rendered <time datetime> below `root`, in the reader's time zone (without
// JavaScript the server's UTC text stays).
export function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime]")) {
    const text = formatDateTime(node.getAttribute("datetime"));
    if (text) node.textContent = text;
  }
}

// How long ago, with the time of day whenever it is more than an hour: "just now", "12 min ago",
// "today 09:40", "yesterday 16:05", "29 Nov 2025, 14:03". Put formatDateTime in the title for the full moment.
export function formatRelative(iso, now = new Date()) {
  const moment = parse(iso);
  if (!moment) return "";
  const minutes = Math.floor((now.getTime() - moment.getTime()) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (now.toDateString() === moment.toDateString()) return `today ${clockFormat.format(moment)}`;
  if (yesterday.toDateString() === moment.toDateString()) return `yesterday ${clockFormat.format(moment)}`;
  return dateTimeFormat.format(moment);
}
