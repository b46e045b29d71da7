// The customer's chat page: starts or resumes the conversation whose token this browser keeps,
// sends messages, and polls for replies with the newest message id as the cursor (docs/chat.md
// says why polling here and a pushed stream on the agent's page).
import { Thread } from "../common/thread.js";

const root = document.getElementById("chat");
if (root) {

  const slug = root.dataset.slug;
  const api = "/api/public/chat/" + encodeURIComponent(slug);
  // One conversation per client page: the token is stored under the client's slug.
  const storageKey = "deskline.chat." + slug;
  // Within the 2 s the issue asks for while the page is in view; rarely when nobody looks.
  const POLL_MS = 1000;
  const POLL_HIDDEN_MS = 5000;
  const POLL_CLOSED_MS = 10000;
  const MAX_BACKOFF_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const startForm = $("start-form");
  const threadView = $("thread");
  const list = $("messages");
  const replyForm = $("reply-form");
  const replyBody = $("reply-body");
  const banner = $("chat-banner");
  const stateBadge = $("chat-state");
  const baseTitle = document.title;
  const thread = new Thread(list, "customer");

  let token = null;
  let readUpTo = 0;        // the newest id reported as read
  let status = null;
  let failures = 0;
  let timer = null;
  let polling = false;
  let unseen = 0;

  function storedToken() {
    try { return window.localStorage.getItem(storageKey); } catch (e) { return null; }
  }

  function storeToken(value) {
    try {
      if (value) { window.localStorage.setItem(storageKey, value); } else { window.localStorage.removeItem(storageKey); }
    } catch (e) { /* private mode: the chat works until the page is closed */ }
  }

  class HttpError extends Error {
    constructor(status, body, retryAfter) {
      super("HTTP " + status);
      this.status = status;
      this.body = body || {};
      this.retryAfter = retryAfter;
    }
  }

  async function call(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (token) { headers["X-Chat-Token"] = token; }
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    const response = await fetch(api + path, {
      method: method, headers: headers, cache: "no-store", credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new HttpError(response.status, data, parseInt(response.headers.get("Retry-After") || "0", 10));
    }
    return data;
  }

  // ------------------------------------------------------------------ rendering

  function show(node, visible) { node.hidden = !visible; }

  function showBanner(text) {
    banner.textContent = text || "";
    show(banner, Boolean(text));
  }

  function addMessages(messages, older) {
    const fresh = thread.add(messages, { older });
    if (!older && document.hidden) { unseen += fresh.filter((m) => m.author !== "customer").length; }
    document.title = unseen ? "(" + unseen + ") " + baseTitle : baseTitle;
  }

  function showConversation(conversation) {
    status = conversation.status;
    stateBadge.textContent = status === "open" ? "Open" : "Closed";
    stateBadge.className = "badge chat-state " + (status === "open" ? "status-open" : "status-closed");
    show(stateBadge, true);
    const tickets = $("chat-tickets");
    tickets.replaceChildren(...(conversation.ticket_numbers || []).map((number) => {
      const chip = document.createElement("span");
      chip.className = "ticket-number";
      chip.textContent = number;
      chip.title = "Your ticket reference";
      return chip;
    }));
    const closed = status !== "open";
    show(replyForm, !closed);
    show($("end-chat"), !closed);
    show($("closed-note"), closed);
  }

  // `page` is "newest" (a start or resume), "poll" (after the cursor) or "older" (before the oldest shown).
  function showThread(data, page) {
    show(startForm, false);
    show(threadView, true);
    showConversation(data.conversation);
    addMessages(data.messages, page === "older");
    // A poll's has_older is always true (everything up to the cursor): only the other two say.
    if (page !== "poll") { show($("load-older"), Boolean(data.has_older)); }
    markRead();
  }

  function resetThread() {
    thread.reset();
    readUpTo = 0; unseen = 0; status = null;
    show($("load-older"), false);
    document.title = baseTitle;
  }

  function showStart() {
    stopPolling();
    token = null;
    storeToken(null);
    resetThread();
    show(threadView, false);
    show(stateBadge, false);
    show(startForm, true);
    $("start-message").value = "";
    $("start-submit").disabled = false;
  }

  // ------------------------------------------------------------------ read markers

  function markRead() {
    if (document.hidden || !token || thread.newest <= readUpTo) { return; }
    readUpTo = thread.newest;
    unseen = 0;
    document.title = baseTitle;
    call("POST", "/conversation/read", { up_to: readUpTo }).catch(() => { readUpTo = 0; });
  }

  // ------------------------------------------------------------------ polling

  function stopPolling() {
    if (timer) { clearTimeout(timer); timer = null; }
  }

  function schedule(ms) {
    stopPolling();
    if (token) { timer = setTimeout(poll, ms); }
  }

  function nextDelay() {
    if (status !== "open") { return POLL_CLOSED_MS; }
    return document.hidden ? POLL_HIDDEN_MS : POLL_MS;
  }

  async function poll() {
    if (polling || !token) { return; }
    polling = true;
    const asked = token;
    let delay = nextDelay();
    try {
      const data = await call("GET", "/conversation?after=" + thread.newest);
      if (token !== asked) { return; }  // the customer started afresh meanwhile
      failures = 0;
      showBanner("");
      showThread(data, "poll");
      if (data.has_newer) { delay = 0; }
    } catch (error) {
      delay = handleFailure(error);
    } finally {
      polling = false;
    }
    if (delay !== null) { schedule(delay); }
  }

  // What to do after a failed call; returns the next poll's delay, or null to stop.
  function handleFailure(error) {
    if (error instanceof HttpError && error.status === 404) {
      // The conversation this browser knew is gone or was never this client's: start afresh.
      showStart();
      return null;
    }
    if (error instanceof HttpError && error.status === 429) {
      showBanner("You are going a little fast: we will carry on in a moment.");
      return Math.max(1, error.retryAfter || 5) * 1000;
    }
    failures += 1;
    showBanner("Connection lost. Reconnecting…");
    return Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, failures));
  }

  // ------------------------------------------------------------------ forms

  function setFieldError(input, message) {
    const slot = $(input.id + "-error");
    input.setAttribute("aria-invalid", message ? "true" : "false");
    slot.textContent = message || "";
    show(slot, Boolean(message));
  }

  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function validateStart() {
    const name = $("start-name");
    const email = $("start-email");
    const message = $("start-message");
    const problems = [
      [name, name.value.trim() ? "" : "Please tell us your name."],
      [email, !email.value.trim() ? "Please give your e-mail address." :
        (EMAIL.test(email.value.trim()) ? "" : "This does not look like an e-mail address.")],
      [message, message.value.trim() ? "" : "Please write your question."],
    ];
    problems.forEach(([input, text]) => setFieldError(input, text));
    const first = problems.find(([, text]) => text);
    if (first) { first[0].focus(); }
    return !first;
  }

  const START_FIELDS = { customer_name: "start-name", customer_email: "start-email", message: "start-message" };

  startForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    show($("start-error"), false);
    if (!validateStart()) { return; }
    const button = $("start-submit");
    button.disabled = true;
    try {
      const data = await call("POST", "/conversations", {
        customer_name: $("start-name").value.trim(),
        customer_email: $("start-email").value.trim(),
        message: $("start-message").value,
      });
      token = data.token;
      storeToken(token);
      resetThread();
      showThread(data, "newest");
      replyBody.focus();
      schedule(POLL_MS);
    } catch (error) {
      button.disabled = false;
      if (error instanceof HttpError && error.status === 422 && error.body.errors) {
        Object.entries(error.body.errors).forEach(([field, reasons]) => {
          if (START_FIELDS[field]) { setFieldError($(START_FIELDS[field]), reasons.join(" ")); }
        });
      }
      const text = error instanceof HttpError && error.status === 429
        ? "Too many chats started from your network; please try again in a little while."
        : (error instanceof HttpError && error.status === 422 ? "Please check the fields above."
          : "We could not start the chat just now; please try again.");
      $("start-error").textContent = text;
      show($("start-error"), true);
    }
  });

  function setReplyError(text) {
    $("reply-error").textContent = text || "";
    show($("reply-error"), Boolean(text));
  }

  replyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = replyBody.value;
    if (!body.trim()) { setReplyError("Write a message first."); replyBody.focus(); return; }
    setReplyError("");
    const button = $("reply-send");
    button.disabled = true;
    try {
      const message = await call("POST", "/conversation/messages", { body: body });
      replyBody.value = "";
      addMessages([message], false);
    } catch (error) {
      if (error instanceof HttpError && error.status === 409) {
        poll();  // closed meanwhile: the next answer shows it
        setReplyError("This conversation has been closed.");
      } else if (error instanceof HttpError && error.status === 422) {
        setReplyError(((error.body.errors || {}).body || ["This message cannot be sent."]).join(" "));
      } else if (error instanceof HttpError && error.status === 429) {
        setReplyError("You are sending messages too fast; please wait " + (error.retryAfter || 5) + " seconds.");
      } else if (error instanceof HttpError && error.status === 404) {
        showStart();
      } else {
        setReplyError("Your message was not sent; please try again.");
      }
    } finally {
      button.disabled = false;
      replyBody.focus();
    }
  });

  replyBody.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      replyForm.requestSubmit();
    }
  });

  $("end-chat").addEventListener("click", async () => {
    try {
      showConversation(await call("POST", "/conversation/close"));
      schedule(0);  // the closing line in the thread
    } catch (error) {
      handleFailure(error);
    }
  });

  $("new-chat").addEventListener("click", () => {
    showStart();
    $("start-message").focus();
  });

  $("load-older").addEventListener("click", async () => {
    if (thread.oldest === null) { return; }
    try {
      showThread(await call("GET", "/conversation?before=" + thread.oldest), "older");
    } catch (error) {
      handleFailure(error);
    }
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      markRead();
      schedule(0);
    }
  });

  // ------------------------------------------------------------------ start

  token = storedToken();
  if (token) {
    // Resume: the newest page of the conversation, then poll from there.
    call("GET", "/conversation").then((data) => {
      showThread(data, "newest");
      thread.scrollToEnd();
      schedule(POLL_MS);
    }).catch((error) => {
      const delay = handleFailure(error);
      if (delay !== null) {
        show(threadView, true);
        schedule(delay);
      }
    });
  } else {
    showStart();
  }
}
