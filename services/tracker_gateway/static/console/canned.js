// Canned replies in the reply box (issue 14): Ctrl+/ (or "/" typed as the box's first character) opens a
// searchable picker of the agent's own and the team's replies; Enter or a click inserts the chosen one
// at the cursor, filled in for the open ticket by the server (POST /api/canned-replies/<id>/render: the
// placeholders' values, never HTML, go into the textarea as text). The picker can also save the box's
// text as a new canned reply (an unknown placeholder is refused there, with the reason), and give the
// highlighted reply the box's text or delete it, when it is the agent's own (or the team's, for an admin).

import { $, el } from "../common/dom.js";
import { api } from "./session.js";
import { toast } from "./ui.js";

const box = $("p-reply-body");
const picker = $("canned-picker");
const search = $("canned-search");
const options = $("canned-options");

let replies = [];
let shown = [];
let active = 0;
let selection = null;  // where the text goes: the box's selection when the picker opened

async function load() {
  try {
    replies = (await api("/api/canned-replies")).items;
    $("canned-error").hidden = true;
  } catch (error) {
    replies = [];
    $("canned-error").textContent = `Canned replies cannot be loaded: ${error.message}`;
    $("canned-error").hidden = false;
  }
  render();
}

function render() {
  const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  shown = replies.filter((reply) => words.every((word) => `${reply.name} ${reply.body}`.toLowerCase().includes(word)));
  active = Math.min(active, Math.max(0, shown.length - 1));
  options.replaceChildren(...shown.map((reply, index) => el("li", {
    role: "option", id: `canned-option-${index}`, class: `canned-option${index === active ? " active" : ""}`,
    "aria-selected": index === active ? "true" : "false", dataset: { index: String(index) },
  }, el("span", { class: "canned-name" }, reply.name, reply.shared ? el("span", { class: "shared-mark" }, " · team") : null),
  el("span", { class: "canned-body" }, reply.body.length > 140 ? `${reply.body.slice(0, 137)}…` : reply.body))));
  search.setAttribute("aria-activedescendant", shown.length ? `canned-option-${active}` : "");
  $("canned-empty").hidden = shown.length > 0 || !replies.length;
  options.querySelector(".active")?.scrollIntoView({ block: "nearest" });
  renderActions();
}

function renderActions() {
  const reply = shown[active];
  const remove = $("canned-delete");
  // A delete asked for one reply is forgotten once another is highlighted (or the picker reopens).
  if (remove.dataset.confirming !== reply?.id) delete remove.dataset.confirming;
  $("canned-actions").hidden = !reply?.editable;
  if (!reply?.editable) return;
  remove.textContent = remove.dataset.confirming ? `Delete “${reply.name}” for good` : "Delete";
  $("canned-update").disabled = !box.value.trim();
  $("canned-update").title = box.value.trim() ? `Give “${reply.name}” the reply box's text` : "The reply box is empty";
}

async function change(method, reply, body, done) {
  try {
    await api(`/api/canned-replies/${reply.id}`, { method, body });
    $("canned-error").hidden = true;
    toast(done, "success");
    await load();
  } catch (failure) {
    const reasons = Object.values(failure.fieldErrors || {}).flat();
    $("canned-error").textContent = `Not saved: ${reasons.join(" ") || failure.message}`;
    $("canned-error").hidden = false;
  }
}

export function openPicker() {
  if (box.disabled) return;
  delete $("canned-delete").dataset.confirming;
  selection = { start: box.selectionStart, end: box.selectionEnd };
  search.value = "";
  active = 0;
  $("canned-form-error").hidden = true;
  picker.showModal();
  search.focus();
  load();
}

function insert(text) {
  const { start, end } = selection || { start: box.value.length, end: box.value.length };
  box.focus();
  box.setSelectionRange(start, end);
  // As typing would: the box's undo history and its input listeners (draft, counters) see it.
  if (!document.execCommand("insertText", false, text)) box.setRangeText(text, start, end, "end");
  box.dispatchEvent(new Event("input", { bubbles: true }));
}

async function choose(index) {
  const reply = shown[index];
  const number = $("p-number").textContent.trim();
  if (!reply || !number) return;
  try {
    const rendered = await api(`/api/canned-replies/${reply.id}/render`, { method: "POST", body: { ticket: number } });
    picker.close();
    insert(rendered.text);
  } catch (error) {
    $("canned-error").textContent = `Not inserted: ${error.message}`;
    $("canned-error").hidden = false;
  }
}

box.addEventListener("keydown", (event) => {
  const slashAtStart = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && box.value === "";
  if ((event.key === "/" && (event.ctrlKey || event.metaKey)) || slashAtStart) {
    event.preventDefault();
    event.stopPropagation();
    openPicker();
  }
});
$("p-canned").addEventListener("click", openPicker);
$("canned-close").addEventListener("click", () => picker.close());
picker.addEventListener("close", () => box.focus());

search.addEventListener("input", () => { active = 0; render(); });
$("canned-update").addEventListener("click", () => {
  const reply = shown[active];
  if (reply) change("PUT", reply, { body: box.value }, `“${reply.name}” now has the reply box's text`);
});
$("canned-delete").addEventListener("click", (event) => {
  const reply = shown[active];
  if (!reply) return;
  if (event.currentTarget.dataset.confirming !== reply.id) {  // a second click deletes
    event.currentTarget.dataset.confirming = reply.id;
    renderActions();
    return;
  }
  delete event.currentTarget.dataset.confirming;
  change("DELETE", reply, undefined, `“${reply.name}” deleted`);
});
search.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    active = Math.max(0, Math.min(shown.length - 1, active + (event.key === "ArrowDown" ? 1 : -1)));
    render();
  } else if (event.key === "Enter") {
    event.preventDefault();
    choose(active);
  }
});
options.addEventListener("click", (event) => {
  const option = event.target.closest("[data-index]");
  if (option) choose(Number(option.dataset.index));
});

$("canned-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("canned-form-error");
  try {
    await api("/api/canned-replies", { method: "POST", body: {
      name: $("canned-name").value, body: box.value, shared: $("canned-shared")?.checked || false } });
    error.hidden = true;
    $("canned-name").value = "";
    $("canned-new").open = false;
    toast("Canned reply saved", "success");
    load();
  } catch (failure) {
    const reasons = Object.entries(failure.fieldErrors).map(([field, why]) => `${field === "body" ? "Text" : "Name"}: ${why.join(" ")}`);
    error.textContent = reasons.join(" ") || failure.message;
    error.hidden = false;
  }
});
