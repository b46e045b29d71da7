// The public forms' file inputs (the web form, the tracker's reply): the server's limits on files
// (count and total size, from the form's data-max-files / data-max-bytes) checked before sending, so
// a person learns at once, next to the field, rather than after a long upload.

export function filesProblem(input, form) {
  const files = [...(input.files || [])];
  const maxFiles = Number(form.dataset.maxFiles);
  const maxBytes = Number(form.dataset.maxBytes);
  if (files.length > maxFiles) return `Attach at most ${maxFiles} files.`;
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total > maxBytes) {
    return `The attachments are larger than ${form.dataset.maxSize} in all. Attach smaller files, or fewer.`;
  }
  return "";
}

// One sentence per field that is missing or malformed (the server checks again, and says the same).
export function fieldProblem(control) {
  const value = control.value.trim();
  if (control.required && !value) return "Please fill this in.";
  if (control.type === "email" && value && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
    return "Enter an e-mail address like name@example.com.";
  }
  return "";
}
