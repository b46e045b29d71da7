// The sign-in page first tries the login this browser already holds: arriving from another site
// (a shared link), the SameSite=Strict cookie was not sent with the page, but it is with this call.
const form = document.getElementById("login-form");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const next = form.elements.next.value;
const quiet = !document.getElementById("login-error") && !new URLSearchParams(location.search).has("signed_out");

if (quiet) {
  fetch("/agent/session", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
    .then((response) => { if (response.ok) location.replace(next); })
    .catch(() => {});
}

form.addEventListener("submit", () => {
  const button = document.getElementById("login-submit");
  button.disabled = true;
  button.textContent = "Signing in…";
});
