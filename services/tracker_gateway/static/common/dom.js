// Building and updating the DOM, for every page. Text always goes in as textContent, never as HTML:
// whatever a ticket or a chat message says is shown, never run (and the CSP forbids inline code).

export const $ = (id) => document.getElementById(id);

// el("a", { class: "row", href, dataset: { id } }, "text", childNode, [more]): attributes that are
// null, undefined or false are left out; true gives an empty attribute.
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

// A field's message under it (`slot`), and the field marked invalid for assistive technology.
export function setFieldError(control, slot, message) {
  control.setAttribute("aria-invalid", message ? "true" : "false");
  slot.textContent = message || "";
  slot.hidden = !message;
}

// The page's check of an e-mail address's shape (the server checks it properly).
export const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// E.164, as the tickets service stores a customer's phone (shared/contracts/schemas.py's E164).
export const E164_SHAPE = /^\+[1-9][0-9]{6,14}$/;

// What a person typed ("+1 (415) 555-0123") in E.164's form ("+14155550123"); other text unchanged.
export function phoneDigits(text) {
  const squeezed = String(text || "").replace(/[\s.()-]/g, "");
  return E164_SHAPE.test(squeezed) ? squeezed : String(text || "").trim();
}
