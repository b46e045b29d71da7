// A ticket's SLA as agents see it: the list's chip ("due in 25 min", "breached 1 h ago"), the panel's
// targets, and the chips kept current every minute. Each state has its own icon and words, so colour
// is never the only signal (colour-blind agents read the same thing).

import { el } from "../common/dom.js";
import { formatDateTime, timeOf } from "../common/time.js";

const SOON_MS = 60 * 60_000;  // "due within 1 h": the list's filter of the same name
const TARGETS = { first_response: "First response", resolution: "Resolution" };

// "25 min", "3 h", "2 h 10 min", "4 d": how far a moment is, as a person says it.
export function span(ms) {
  const minutes = Math.max(1, Math.round(Math.abs(ms) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 && hours < 10 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

// The state of a due time now: {state: "breached"|"soon"|"ok"|"paused"|"met", icon, text}.
export function slaState(sla, now = Date.now()) {
  if (!sla) return null;
  if (sla.due_at) {
    const left = timeOf(sla.due_at) - now;
    if (left <= 0) return { state: "breached", icon: "⚠", text: `breached ${span(left)} ago` };
    return { state: left <= SOON_MS ? "soon" : "ok", icon: left <= SOON_MS ? "⏰" : "⏱", text: `due in ${span(left)}` };
  }
  if (sla.resolution.outcome) {  // resolved (or closed): the resolution target's outcome is the news
    return sla.resolution.outcome === "breached" || sla.first_response.outcome === "breached"
      ? { state: "breached", icon: "⚠", text: "SLA missed" } : { state: "met", icon: "✓", text: "SLA met" };
  }
  if (sla.paused && [sla.first_response, sla.resolution].some((t) => !t.outcome)) {
    return { state: "paused", icon: "⏸", text: "SLA paused" };
  }
  return null;
}

function nextTarget(sla) {
  return Object.keys(TARGETS).find((name) => sla[name].due_at === sla.due_at && !sla[name].outcome);
}

// The list's chip: icon (hidden from screen readers) and words; the target and exact time on hover.
export function slaChip(ticket, now = Date.now()) {
  const state = slaState(ticket.sla, now);
  if (!state) return null;
  const target = ticket.sla.due_at ? TARGETS[nextTarget(ticket.sla)] : null;
  const title = target ? `${target} ${state.state === "breached" ? "was due" : "due"} ${formatDateTime(ticket.sla.due_at)}` : state.text;
  return el("span", { class: `chip chip-sla sla-${state.state}`, title, dataset: { slaDue: ticket.sla.due_at || "" } },
    el("span", { class: "sla-icon", "aria-hidden": "true" }, state.icon), ` ${state.text}`);
}

// The panel's targets: each with its business-time target, due time and state.
export function slaFacts(ticket, now = Date.now()) {
  const sla = ticket.sla;
  if (!sla) return [el("p", { class: "hint" }, "No SLA: this ticket is older than SLA targets.")];
  const rows = Object.entries(TARGETS).map(([name, title]) => {
    const target = sla[name];
    let state;
    if (target.outcome === "achieved") state = "✓ Achieved";
    else if (target.outcome === "breached") state = "⚠ Breached";
    else if (target.due_at) {
      const due = slaState({ due_at: target.due_at }, now);
      state = `${due.icon} ${due.text}`;
    }
    else state = "⏸ Paused (waiting on the customer, or resolved)";
    const due = target.due_at && !target.outcome
      ? el("time", { datetime: target.due_at }, ` · due ${formatDateTime(target.due_at)}`) : null;
    return el("div", { class: `sla-target sla-target-${name}`, dataset: { target: name } },
      el("dt", {}, `${title} (${span(target.target_minutes * 60_000)} business time)`),
      el("dd", {}, el("span", { class: "sla-state" }, state), due));
  });
  return [el("dl", { class: "facts sla-facts" }, rows)];
}

// Keep the chips' words true as time passes (a chip crossing its due time turns into "breached").
export function refreshSlaChips(root) {
  for (const node of root.querySelectorAll(".chip-sla[data-sla-due]")) {
    const due = node.dataset.slaDue;
    if (!due) continue;
    const state = slaState({ due_at: due });
    node.className = `chip chip-sla sla-${state.state}`;
    node.lastChild.textContent = ` ${state.text}`;
    node.firstChild.textContent = state.icon;
  }
}
