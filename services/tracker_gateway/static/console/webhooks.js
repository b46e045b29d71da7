// The Webhooks page (admins): lists the client's webhooks (GET /api/webhooks), adds one and shows its
// secret once, switches them on and off, deletes them, sends a test event, and shows each one's deliveries
// with their attempts and a "send again" button. Every status is written in words, not colour alone.

import { $, el, setFieldError } from "../common/dom.js";
import { formatDateTime } from "../common/time.js";
import { api } from "./session.js";
import { copyText, hideBanner, showBanner, toast } from "./ui.js";

const list = $("webhooks-list");
const alertBox = $("webhooks-alert");
const form = $("webhook-form");
const STATUS_WORDS = { delivered: "✓ Delivered", pending: "↻ Retrying", sending: "… Sending", dead: "✕ Gave up" };
const open = new Set();  // webhooks whose deliveries are shown

function statusChip(status) {
  return el("span", { class: `wh-status wh-${status}`, dataset: { status } }, STATUS_WORDS[status] || status);
}

function fail(error, what) {
  showBanner(alertBox, `${what}: ${error.message}`);
}

function deliveriesTable(webhook, items) {
  if (!items.length) return el("p", { class: "faint" }, "No deliveries yet.");
  const rows = items.map((delivery) => {
    const last = delivery.attempt_log[0];
    const retry = el("button", { type: "button", class: "btn btn-small", dataset: { retry: delivery.id } }, "Send again");
    retry.disabled = delivery.status === "sending";
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      try {
        const result = await api(`/api/webhooks/${webhook.id}/deliveries/${delivery.id}/retry`, { method: "POST" });
        toast(result.status === "delivered" ? "Delivered." : `Not delivered: ${result.last_error || result.status}`,
          result.status === "delivered" ? "info" : "error");
      } catch (error) { fail(error, "Sending again failed"); }
      await showDeliveries(webhook);
    });
    return el("tr", { dataset: { delivery: delivery.id } },
      el("td", {}, el("code", {}, delivery.event_type)),
      el("td", {}, statusChip(delivery.status)),
      el("td", {}, String(delivery.attempts)),
      el("td", {}, delivery.last_status_code ? `HTTP ${delivery.last_status_code}` : (delivery.last_error || "—")),
      el("td", {}, delivery.last_latency_ms === null ? "—" : `${delivery.last_latency_ms} ms`),
      el("td", {}, el("time", { datetime: delivery.created_at }, formatDateTime(delivery.created_at))),
      el("td", { class: "excerpt" }, last?.response_excerpt || last?.error || ""),
      el("td", {}, retry));
  });
  return el("div", { class: "table-wrap" }, el("table", { class: "deliveries-table" },
    el("caption", { class: "sr-only" }, `Deliveries to ${webhook.url}`),
    el("thead", {}, el("tr", {}, ...["Event", "Status", "Attempts", "Last answer", "Latency", "Created", "Response", ""]
      .map((text) => el("th", { scope: "col" }, text)))),
    el("tbody", {}, rows)));
}

async function showDeliveries(webhook) {
  const slot = list.querySelector(`[data-deliveries="${webhook.id}"]`);
  if (!slot) return;
  try {
    const { items } = await api(`/api/webhooks/${webhook.id}/deliveries`);
    slot.replaceChildren(el("h3", {}, "Deliveries"), deliveriesTable(webhook, items));
    slot.hidden = false;
  } catch (error) { fail(error, "Deliveries could not be loaded"); }
}

function card(webhook) {
  const button = (text, data, handler, extra = "") => {
    const node = el("button", { type: "button", class: `btn btn-small ${extra}`, dataset: data }, text);
    node.addEventListener("click", async () => {
      node.disabled = true;
      try { await handler(); } finally { node.disabled = false; }
    });
    return node;
  };
  const state = webhook.active ? el("span", { class: "wh-status wh-on" }, "● Active")
    : el("span", { class: "wh-status wh-off" }, "○ Off");
  const actions = el("div", { class: "webhook-actions" },
    button("Send a test event", { action: "test" }, async () => {
      try {
        const result = await api(`/api/webhooks/${webhook.id}/test`, { method: "POST" });
        toast(result.status === "delivered" ? "Test event delivered." : `Test event not delivered: ${result.last_error || result.status}`,
          result.status === "delivered" ? "info" : "error");
        open.add(webhook.id);
      } catch (error) { fail(error, "The test event failed"); }
      await load();
    }),
    button(open.has(webhook.id) ? "Hide deliveries" : "Deliveries", { action: "deliveries" }, async () => {
      if (open.has(webhook.id)) open.delete(webhook.id); else open.add(webhook.id);
      await load();
    }),
    button(webhook.active ? "Switch off" : "Switch on", { action: "toggle" }, async () => {
      try { await api(`/api/webhooks/${webhook.id}`, { method: "PATCH", body: { active: !webhook.active } }); }
      catch (error) { fail(error, "The change failed"); }
      await load();
    }),
    button("Delete", { action: "delete" }, async () => {
      if (!window.confirm(`Delete the webhook to ${webhook.url} and its deliveries log?`)) return;
      try { await api(`/api/webhooks/${webhook.id}`, { method: "DELETE" }); toast("Webhook deleted."); }
      catch (error) { fail(error, "Deleting failed"); }
      open.delete(webhook.id);
      await load();
    }, "btn-danger-ghost"));
  const meta = [`Events: ${webhook.events.join(", ")}`, `secret …${webhook.secret_hint}`];
  if (webhook.failing_since && webhook.active) meta.push(`failing since ${formatDateTime(webhook.failing_since)}`);
  return el("article", { class: "webhook-card", dataset: { webhook: webhook.id } },
    el("div", { class: "webhook-head" }, el("span", { class: "webhook-url" }, webhook.url), state),
    el("p", { class: "webhook-meta" }, meta.join(" · ")),
    webhook.disabled_reason ? el("p", { class: "banner banner-warning" }, `Switched off: ${webhook.disabled_reason}`) : null,
    actions,
    el("div", { class: "webhook-deliveries", dataset: { deliveries: webhook.id }, hidden: true }));
}

async function load() {
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await api("/api/webhooks");
    $("webhooks-empty").hidden = items.length > 0;
    list.replaceChildren($("webhooks-empty"), ...items.map(card));
    await Promise.all(items.filter((webhook) => open.has(webhook.id)).map(showDeliveries));
  } catch (error) { fail(error, "Webhooks could not be loaded"); }
  list.setAttribute("aria-busy", "false");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  hideBanner(alertBox);
  const url = $("wh-url").value.trim();
  const events = [...form.querySelectorAll('input[name="events"]:checked')].map((box) => box.value);
  setFieldError($("wh-url"), $("wh-url-error"), url ? "" : "Enter the URL to send events to.");
  setFieldError(form.querySelector('input[name="events"]'), $("wh-events-error"), events.length ? "" : "Choose at least one event.");
  if (!url || !events.length) return;
  try {
    const created = await api("/api/webhooks", { method: "POST", body: { url, events, active: $("wh-active").checked } });
    $("secret-value").textContent = created.secret;
    $("secret-box").hidden = false;
    form.reset();
    toast("Webhook added.");
    await load();
  } catch (error) {
    const fields = error.fieldErrors;
    const eventError = Object.entries(fields).find(([field]) => field.startsWith("events"));
    setFieldError($("wh-url"), $("wh-url-error"), (fields.url || []).join(" "));
    setFieldError(form.querySelector('input[name="events"]'), $("wh-events-error"), eventError ? eventError[1].join(" ") : "");
    if (!Object.keys(fields).length) fail(error, "The webhook could not be added");
  }
});

$("secret-copy").addEventListener("click", async () => {
  try { await copyText($("secret-value").textContent); toast("Secret copied."); }
  catch { toast("Copy it by hand.", "error"); }
});
$("secret-done").addEventListener("click", () => {
  $("secret-value").textContent = "";
  $("secret-box").hidden = true;
});

load();
