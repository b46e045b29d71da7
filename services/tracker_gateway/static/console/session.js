// The page's access token and API calls: the token lives in memory only; a fresh one comes from
// POST /agent/session (the HttpOnly cookie plus the CSRF token), and every API call carries it.

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
const channel = "BroadcastChannel" in window ? new BroadcastChannel("deskline-session") : null;
// Renew a minute before expiry, so that no call goes out with a token about to run out.
const EARLY_MS = 60_000;

let token = null;
let expiresAt = 0;
let pending = null;

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;       // 0: the network, not the server
    this.body = body || {};
    this.retryAfter = retryAfter;
  }

  get fieldErrors() { return this.status === 422 ? this.body.errors || {} : {}; }
  get retryable() { return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504; }
  // A write that got no answer in time (504): it may have been made, so never retry it blindly.
  get outcomeUnknown() { return this.status === 504; }
}

export function signInAgain() {
  const here = location.pathname + location.search;
  location.assign(`/agent/login?next=${encodeURIComponent(here)}`);
}

function retryAfterOf(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 3;
}

async function renew() {
  let response;
  try {
    response = await fetch("/agent/session", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "X-CSRF-Token": csrfToken, Accept: "application/json" },
    });
  } catch (error) {
    throw new ApiError(0, { message: "The network is unreachable." }, 3);
  }
  if (response.status === 401) { signInAgain(); throw new ApiError(401, {}, 0); }
  // 403: this page's CSRF token is stale (cookies cleared meanwhile): a reload brings a new one.
  if (response.status === 403) { location.reload(); throw new ApiError(403, {}, 0); }
  if (!response.ok) throw new ApiError(response.status, { message: "Service unavailable." }, retryAfterOf(response));
  const body = await response.json();
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

// One call to the API: the parsed JSON body (null for 204), or an ApiError.
export async function api(path, { method = "GET", body, signal } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const bearer = await accessToken();
    let response;
    try {
      response = await fetch(path, {
        method, signal, cache: "no-store",
        headers: {
          Authorization: `Bearer ${bearer}`, Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, { message: "The network is unreachable." }, 3);
    }
    // An expired or revoked token: renew once and try again.
    if (response.status === 401 && attempt === 0) { forgetToken(); continue; }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data, retryAfterOf(response));
    return data;
  }
}

// Sign out: revoke this page's access token through the API, tell the other tabs, end the login.
export function wireSignOut(form) {
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (token) {
      await fetch("/api/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
    }
    forgetToken();
    channel?.postMessage("signed-out");
    form.submit();
  });
  channel?.addEventListener("message", (event) => {
    if (event.data === "signed-out") location.assign("/agent/login?signed_out=1");
  });
}
