// Small helpers every console page shares: building DOM safely, labels, chips, dates, toasts, copying.
// Text always goes in as textContent, never as HTML: whatever a ticket says is shown, never run.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// "in_progress" -> "In progress"
export function label(value) {
  if (!value) return "";
  const text = String(value).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// A colour-coded chip: chip("status", "open"), chip("priority", "urgent"), chip("category", "billing").
export function chip(kind, value) {
  return el("span", { class: `chip chip-${kind} ${kind}-${value}`, title: `${label(kind)}: ${label(value)}` }, label(value));
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function parse(iso) {
  const moment = iso ? new Date(iso) : null;
  return moment && !Number.isNaN(moment.getTime()) ? moment : null;
}

export function formatDate(iso) { const moment = parse(iso); return moment ? dateFormat.format(moment) : ""; }
export function formatDateTime(iso) { const moment = parse(iso); return moment ? dateTimeFormat.format(moment) : ""; }
export function timeOf(iso) { return parse(iso)?.getTime() ?? 0; }

export function toast(message, tone = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("p", { class: `toast toast-${tone}` }, message);
  box.append(item);
  setTimeout(() => item.classList.add("leaving"), 2600);
  setTimeout(() => item.remove(), 3000);
}

// The clipboard API needs a secure context (https, or localhost); elsewhere the old way still works.
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = el("textarea", { class: "sr-only", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("copy refused");
}

// A message in place (a list's or a panel's banner); showRetrying counts down to the next try.
export function showBanner(node, message, tone = "error") {
  clearInterval(node._countdown);
  node.className = `banner banner-${tone}`;
  node.textContent = message;
  node.hidden = false;
}

export function showRetrying(node, what, seconds) {
  let left = Math.max(1, Math.round(seconds));
  const render = () => { node.textContent = `${what}: service unavailable, retrying in ${left} s…`; };
  clearInterval(node._countdown);
  node.className = "banner banner-warning";
  node.hidden = false;
  render();
  node._countdown = setInterval(() => { left = Math.max(0, left - 1); render(); }, 1000);
}

export function hideBanner(node) {
  clearInterval(node._countdown);
  node.hidden = true;
  node.textContent = "";
}
