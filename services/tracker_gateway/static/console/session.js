// The page's access token and API calls: the token lives in memory only; a fresh one comes from
// POST /agent/session (the HttpOnly cookie plus the CSRF token), and every API call carries it.
// Requests and their errors are common/http.js's; this adds the bearer token and its renewal.
import { HttpError, request } from "../common/http.js";

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
const channel = "BroadcastChannel" in window ? new BroadcastChannel("deskline-session") : null;
// Renew a minute before expiry, so that no call goes out with a token about to run out.
const EARLY_MS = 60_000;

let token = null;
let expiresAt = 0;
let pending = null;

export function signInAgain() {
  const here = location.pathname + location.search;
  location.assign(`/agent/login?next=${encodeURIComponent(here)}`);
}

// The page's session: an access token for this page, or the sign-in page when the login is over.
// `probe`: only asking whether this browser is signed in (the sign-in page): "no" is null, not an error.
export function openSession({ probe = false } = {}) {
  return request(probe ? "/agent/session?probe=1" : "/agent/session",
    { method: "POST", headers: { "X-CSRF-Token": csrfToken } });
}

async function renew() {
  let body;
  try {
    body = await openSession();
  } catch (error) {
    if (error.status === 401) signInAgain();
    // 403: this page's CSRF token is stale (cookies cleared meanwhile): a reload brings a new one.
    else if (error.status === 403) location.reload();
    else if (error.status) throw new HttpError(error.status, { message: "Service unavailable." }, error.retryAfter);
    throw error;
  }
  token = body.access_token;
  expiresAt = Date.now() + body.expires_in * 1000 - EARLY_MS;
  return body;
}

export async function accessToken() {
  if (token && Date.now() < expiresAt) return token;
  if (!pending) pending = renew().finally(() => { pending = null; });
  await pending;
  return token;
}

export function forgetToken() { token = null; expiresAt = 0; }

// One call to the API with the page's token: the parsed JSON body (null for 204), or an HttpError.
export async function api(path, { method = "GET", body, signal, headers = {} } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const bearer = await accessToken();
    try {
      return await request(path, { method, body, signal, headers: { ...headers, Authorization: `Bearer ${bearer}` } });
    } catch (error) {
      // An expired or revoked token: renew once and try again.
      if (error.status === 401 && attempt === 0) { forgetToken(); continue; }
      throw error;
    }
  }
}

// Sign out: revoke this page's access token through the API, tell the other tabs, end the login.
export function wireSignOut(form) {
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (token) {
      await request("/api/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
    }
    forgetToken();
    channel?.postMessage("signed-out");
    form.submit();
  });
  channel?.addEventListener("message", (event) => {
    if (event.data === "signed-out") location.assign("/agent/login?signed_out=1");
  });
}
