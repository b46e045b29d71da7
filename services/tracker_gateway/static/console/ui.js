// What console pages show alike: labels, chips, toasts, banners in place, copying. Elements are built
// with the one DOM helper (common/dom.js), so text only ever goes in as textContent.
import { el } from "../common/dom.js";

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

// The page's view as its URL's query (bookmarkable, Back/Forward): a new history entry unless `replace`.
export function showQuery(params, { replace = false } = {}) {
  const query = params.toString();
  const url = location.pathname + (query ? `?${query}` : "");
  if (url !== location.pathname + location.search) history[replace ? "replaceState" : "pushState"](null, "", url);
}
