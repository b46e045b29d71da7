// The SLA settings page: loads the client's policy (GET /api/sla), and for admins saves it (PUT /api/sla),
// showing each refused field beside its input with the server's reason.

import { $ } from "../common/dom.js";
import { formatDateTime } from "../common/time.js";
import { api } from "./session.js";
import { hideBanner, showBanner, toast } from "./ui.js";

const form = $("sla-form");
const alertBox = $("sla-alert");
const DAYS = [...document.querySelectorAll("#c-week tr[data-day]")].map((row) => row.dataset.day);
const targetInputs = [...form.querySelectorAll("input[data-priority]")];

function fillTimeZones(selected) {
  const select = $("c-timezone");
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const names = [...new Set(["UTC", ...zones, selected])];
  select.replaceChildren(...names.map((name) => new Option(name, name, false, name === selected)));
}

function showMode() {
  const always = $("c-always").checked;
  for (const input of $("c-week").querySelectorAll("input")) input.disabled = always || form.dataset.admin !== "true";
}

function show(policy) {
  for (const input of targetInputs) input.value = policy.targets[input.dataset.priority][input.dataset.target];
  const calendar = policy.calendar;
  fillTimeZones(calendar.timezone);
  $("c-always").checked = calendar.hours === null;
  $("c-hours").checked = calendar.hours !== null;
  for (const day of DAYS) {
    const spans = calendar.hours?.[day] || [];
    $(`h-${day}-open`).checked = spans.length > 0;
    if (spans.length) {
      $(`h-${day}-start`).value = spans[0][0];
      $(`h-${day}-end`).value = spans[0][1] === "24:00" ? "23:59" : spans[0][1];
    }
  }
  $("c-holidays").value = calendar.holidays.join("\n");
  const updated = $("sla-updated");
  if (updated) updated.textContent = policy.default ? "Defaults: no policy saved yet." : `Saved ${formatDateTime(policy.updated_at)}${policy.updated_by ? ` by ${policy.updated_by}` : ""}.`;
  showMode();
}

function read() {
  const targets = {};
  for (const input of targetInputs) {
    targets[input.dataset.priority] ||= {};
    targets[input.dataset.priority][input.dataset.target] = Number(input.value);
  }
  let hours = null;
  if ($("c-hours").checked) {
    hours = {};
    for (const day of DAYS) {
      if ($(`h-${day}-open`).checked) hours[day] = [[$(`h-${day}-start`).value, $(`h-${day}-end`).value]];
    }
  }
  const holidays = $("c-holidays").value.split(/\s+/).filter(Boolean);
  return { targets, calendar: { timezone: $("c-timezone").value, hours, holidays } };
}

// "calendar.hours.mon.0" -> the input it is about.
function inputFor(field) {
  const parts = field.split(".");
  if (parts[0] === "targets") return $(`t-${parts[1]}-${parts[2] || "first_response_minutes"}`);
  if (field === "calendar.timezone") return $("c-timezone");
  if (parts[1] === "hours" && parts[2]) return $(`h-${parts[2]}-start`);
  if (parts[1] === "holidays") return $("c-holidays");
  return null;
}

function clearErrors() {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  hideBanner(alertBox);
}

async function load() {
  try {
    show(await api("/api/sla"));
    form.setAttribute("aria-busy", "false");
  } catch (error) {
    showBanner(alertBox, `The SLA settings cannot be loaded: ${error.message}`);
  }
}

form.addEventListener("change", (event) => { if (event.target.name === "mode") showMode(); });
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  try {
    show(await api("/api/sla", { method: "PUT", body: read() }));
    toast("SLA settings saved", "success");
  } catch (error) {
    const errors = error.fieldErrors;
    const fields = Object.keys(errors);
    if (!fields.length) {
      showBanner(alertBox, error.message);
      return;
    }
    for (const field of fields) inputFor(field)?.setAttribute("aria-invalid", "true");
    showBanner(alertBox, `Not saved: ${fields.map((field) => `${field}: ${errors[field].join(", ")}`).join("; ")}`);
    inputFor(fields[0])?.focus();
  }
});

load();
