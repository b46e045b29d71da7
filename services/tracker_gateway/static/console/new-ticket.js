// The tickets page's "New ticket" dialog: an agent records a phone call or a walk-in (channel "agent").
import { $, E164_SHAPE, EMAIL_SHAPE, phoneDigits, setFieldError } from "../common/dom.js";
import { api } from "./session.js";
import { hideBanner, label, showBanner, toast } from "./ui.js";

const FIELDS = ["customer_name", "customer_email", "customer_phone", "title", "description", "priority", "category"];
const TITLE_MAX = 200;
const TEXT_MAX = 20000;
const input = (name) => $(name === "title" ? "nt-title-input" : `nt-${name}`);

function validate(values) {
  const errors = {};
  if (!values.title) errors.title = "Give the ticket a title.";
  else if (values.title.length > TITLE_MAX) errors.title = `At most ${TITLE_MAX} characters.`;
  if (!values.description) errors.description = "Describe the issue.";
  else if (values.description.length > TEXT_MAX) errors.description = `At most ${TEXT_MAX.toLocaleString()} characters.`;
  if (values.customer_email && !EMAIL_SHAPE.test(values.customer_email)) errors.customer_email = "This does not look like an e-mail address.";
  if (values.customer_phone && !E164_SHAPE.test(values.customer_phone)) {
    errors.customer_phone = "Use the international form: + and the country code, e.g. +14155550123.";
  }
  return errors;
}

function showErrors(errors) {
  for (const name of FIELDS) setFieldError(input(name), $(`nt-e-${name}`), errors[name]);
  const first = FIELDS.find((name) => errors[name]);
  if (first) input(first).focus();
  return Boolean(first);
}

function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// `onCreated(ticket)` once the ticket exists (the page opens it).
export function wireNewTicket(onCreated) {
  const dialog = $("new-ticket");
  const form = $("nt-form");
  // One key per dialog, sent with every try: a retry after a lost answer makes one ticket.
  let key = null;

  $("new-ticket-open").addEventListener("click", () => {
    key = newKey();
    form.reset();
    hideBanner($("nt-alert"));
    showErrors({});
    dialog.showModal();
    input("customer_name").focus();
  });
  for (const id of ["nt-cancel", "nt-cancel-x"]) $(id).addEventListener("click", () => dialog.close());
  form.addEventListener("input", (event) => {
    if (event.target.name) setFieldError(event.target, $(`nt-e-${event.target.name}`), "");
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(FIELDS.map((name) => [name, input(name).value.trim()]));
    values.customer_phone = phoneDigits(values.customer_phone);
    hideBanner($("nt-alert"));
    if (showErrors(validate(values))) return;
    const body = { ...values, customer_name: values.customer_name || null, customer_email: values.customer_email || null,
      customer_phone: values.customer_phone || null, channel: "agent" };
    $("nt-submit").disabled = true;
    try {
      const ticket = await api("/api/entities/ticket", { method: "POST", body, headers: { "Idempotency-Key": key } });
      dialog.close();
      toast(`Ticket ${ticket.ticket_number} created`, "success");
      onCreated(ticket);
    } catch (error) {
      if (error.status === 422) {
        const errors = Object.fromEntries(Object.entries(error.fieldErrors).map(([field, reasons]) => [field, [].concat(reasons).join(" ")]));
        const unplaced = Object.keys(errors).filter((field) => !FIELDS.includes(field));
        showErrors(errors);
        if (unplaced.length) showBanner($("nt-alert"), unplaced.map((field) => `${label(field)}: ${errors[field]}`).join(" "));
      } else {
        showBanner($("nt-alert"), error.outcomeUnknown
          ? "No answer in time: the ticket may have been created. Trying again is safe: it will not make a second one."
          : error.retryable ? "Tickets are unavailable for the moment; nothing was created. Try again shortly." : error.message);
      }
    } finally {
      $("nt-submit").disabled = false;
    }
  });
}
