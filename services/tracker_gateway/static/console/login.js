// The sign-in page first tries the login this browser already holds: arriving from another site
// (a shared link), the SameSite=Strict cookie was not sent with the page, but it is with this call.
import { openSession } from "./session.js";

const form = document.getElementById("login-form");
const next = form.elements.next.value;
const quiet = !document.getElementById("login-error") && !new URLSearchParams(location.search).has("signed_out");

if (quiet) openSession({ probe: true }).then((signedIn) => { if (signedIn) location.replace(next); }, () => {});

form.addEventListener("submit", () => {
  const button = document.getElementById("login-submit");
  button.disabled = true;
  button.textContent = "Signing in…";
});
