// The one way pages call the gateway's JSON endpoints: `request()` answers the parsed body (null for
// 204) or throws an HttpError. The console's bearer-token API (console/session.js) and the customer's
// chat page (public/chat.js) both build on it.

// When a 429 or 503 does not say how long to wait.
const DEFAULT_RETRY_AFTER_S = 3;

export class HttpError extends Error {
  constructor(status, body, retryAfter = DEFAULT_RETRY_AFTER_S) {
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

function retryAfterOf(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_RETRY_AFTER_S;
}

// `body` goes as JSON; `headers` add to (or override) the JSON ones. Never cached: these answers
// are one person's data. An aborted call (`signal`) throws the AbortError itself.
export async function request(url, { method = "GET", body, headers = {}, signal } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method, signal, cache: "no-store", credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new HttpError(0, { message: "The network is unreachable." });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new HttpError(response.status, data, retryAfterOf(response));
  return data;
}
