// The web form and the tracker's reply form: each field checked before sending, its error under it
// (the same sentences as the server's), the first wrong field focused; one submit per click (the
// server also makes one ticket or message per form render, whatever arrives twice).
import { setFieldError } from "../common/dom.js";
import { fieldProblem, filesProblem } from "./attachments.js";

function errorSlot(control) {
  return document.getElementById(`${control.id}-error`);
}

function check(form) {
  let first = null;
  for (const control of form.querySelectorAll("input[id], textarea[id], select[id]")) {
    const slot = errorSlot(control);
    if (!slot) continue;
    const problem = problemOf(control, form);
    setFieldError(control, slot, problem);
    if (problem && !first) first = control;
  }
  return first;
}

function problemOf(control, form) {
  return control.type === "file" ? filesProblem(control, form) : fieldProblem(control);
}

for (const form of document.querySelectorAll("form[data-max-files]")) {
  const files = form.querySelector('input[type="file"]');
  if (files) {
    files.addEventListener("change", () => setFieldError(files, errorSlot(files), filesProblem(files, form)));
  }
  // A field marked wrong is checked again as it is corrected, so that its error goes once it is right.
  form.addEventListener("input", (event) => {
    const control = event.target;
    const slot = control.id ? errorSlot(control) : null;
    if (slot && control.getAttribute("aria-invalid") === "true") setFieldError(control, slot, problemOf(control, form));
  });
  form.addEventListener("submit", (event) => {
    const wrong = check(form);
    if (wrong) {
      event.preventDefault();
      wrong.focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    if (button) {
      // After the browser has taken this submit: a second click sends nothing more.
      setTimeout(() => { button.disabled = true; button.textContent = "Sending…"; }, 0);
    }
  });
}
