// The customer's chat page: starts or resumes the conversation whose token this browser keeps,
// sends messages, and receives replies pushed on a stream (server-sent events from the chat stream
// server, opened with a ticket the gateway signs). While no stream is open - refused, cut, or the
// broker paused - it polls with the newest message id as the cursor, and tries the stream again.
import { $, EMAIL_SHAPE, setFieldError as markField } from "../common/dom.js";
import { HttpError, request } from "../common/http.js";
import { readEvents } from "../common/sse.js";
import { Thread, sendOnEnter } from "../common/thread.js";

const root = $("chat");
if (root) {

  const slug = root.dataset.slug;
  const api = "/api/public/chat/" + encodeURIComponent(slug);
  // One conversation per client page: the token is stored under the client's slug.
  const storageKey = "deskline.chat." + slug;
  // Replies show within 2 s while the page is in view; polls are rare when nobody looks.
  const POLL_MS = 1000;
  const POLL_HIDDEN_MS = 5000;
  const POLL_CLOSED_MS = 10000;
  const MAX_BACKOFF_MS = 15000;
  // A stream that could not be opened (or broke) is tried again after this, doubling up to the cap.
  const STREAM_RETRY_MS = 3000;
  const STREAM_RETRY_MAX_MS = 60000;

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
  let stream = null;       // the open stream's AbortController
  let streaming = false;   // the stream said `ready`: no polling
  let streamRetry = null;
  let streamDelay = STREAM_RETRY_MS;
  let catchUp = false;     // `ready` came during a poll: one more after it

  function storedToken() {
    try { return window.localStorage.getItem(storageKey); } catch (e) { return null; }
  }

  function storeToken(value) {
    try {
      if (value) { window.localStorage.setItem(storageKey, value); } else { window.localStorage.removeItem(storageKey); }
    } catch (e) { /* private mode: the chat works until the page is closed */ }
  }

  function call(method, path, body) {
    return request(api + path, { method, body, headers: token ? { "X-Chat-Token": token } : {} });
  }

  // ------------------------------------------------------------------ rendering

  function showBanner(text) {
    banner.textContent = text || "";
    banner.hidden = !text;
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
    stateBadge.hidden = false;
    const tickets = $("chat-tickets");
    tickets.replaceChildren(...(conversation.ticket_numbers || []).map((number) => {
      const chip = document.createElement("span");
      chip.className = "ticket-number";
      chip.textContent = number;
      chip.title = "Your ticket reference";
      return chip;
    }));
    const closed = status !== "open";
    replyForm.hidden = closed;
    $("end-chat").hidden = closed;
    $("closed-note").hidden = !closed;
  }

  // `page` is "newest" (a start or resume), "poll" (after the cursor) or "older" (before the oldest shown).
  function showThread(data, page) {
    startForm.hidden = true;
    threadView.hidden = false;
    showConversation(data.conversation);
    addMessages(data.messages, page === "older");
    // A poll's has_older is always true (everything up to the cursor): only the other two say.
    if (page !== "poll") { $("load-older").hidden = !data.has_older; }
    markRead();
  }

  function resetThread() {
    thread.reset();
    readUpTo = 0; unseen = 0; status = null;
    $("load-older").hidden = true;
    document.title = baseTitle;
  }

  function showStart() {
    closeStream();
    stopPolling();
    token = null;
    storeToken(null);
    resetThread();
    threadView.hidden = true;
    stateBadge.hidden = true;
    startForm.hidden = false;
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

  // ------------------------------------------------------------------ the stream

  // How replies arrive now, for whoever inspects the page (the browser tests): "stream" or "poll".
  function showTransport() {
    root.dataset.transport = streaming ? "stream" : "poll";
  }

  function closeStream() {
    streaming = false;
    showTransport();
    if (streamRetry) { clearTimeout(streamRetry); streamRetry = null; }
    if (stream) { stream.abort(); stream = null; }
  }

  // Polls carry on (or start) while the stream is away; the stream is tried again later.
  function streamLost() {
    streaming = false;
    showTransport();
    stream = null;
    if (!token) { return; }
    if (!timer && !polling) { schedule(0); }
    streamRetry = setTimeout(openStream, streamDelay + Math.random() * 1000);
    streamDelay = Math.min(STREAM_RETRY_MAX_MS, streamDelay * 2);
  }

  function onStreamEvent(type, data) {
    if (type === "ready") {
      // Live from here: catch up once with what came before the stream, then no more polls.
      streaming = true;
      showTransport();
      streamDelay = STREAM_RETRY_MS;
      stopPolling();
      showBanner("");
      if (polling) { catchUp = true; } else { poll(); }
    } else if (type === "paused") {
      streaming = false;
      showTransport();
      schedule(POLL_MS);
    } else if (type === "update") {
      showThread(data, "poll");
    }
  }

  async function openStream() {
    streamRetry = null;
    if (!token || stream) { return; }
    const asked = token;
    const controller = new AbortController();
    stream = controller;
    try {
      const where = await call("POST", "/conversation/stream");
      if (token !== asked || controller.signal.aborted) { return; }
      const response = await fetch(where.url, {
        headers: { "X-Chat-Stream-Ticket": where.ticket, Accept: "text/event-stream" },
        cache: "no-store", signal: controller.signal,
      });
      if (!response.ok || !response.body) { throw new Error("stream: HTTP " + response.status); }
      await readEvents(response.body, (type, data) => { if (stream === controller) { onStreamEvent(type, data); } });
    } catch (error) {
      if (controller.signal.aborted) { return; }
      if (error instanceof HttpError && error.status === 404) { stream = null; showStart(); return; }
    }
    if (stream === controller) { streamLost(); }
  }

  function nextDelay() {
    if (status !== "open") { return POLL_CLOSED_MS; }
    return document.hidden ? POLL_HIDDEN_MS : POLL_MS;
  }

  async function poll() {
    if (polling || !token) { return; }
    stopPolling();
    polling = true;
    const asked = token;
    let delay = nextDelay();
    try {
      const data = await call("GET", "/conversation?after=" + thread.newest);
      if (token !== asked) { return; }  // the customer started afresh meanwhile
      failures = 0;
      showBanner("");
      showThread(data, "poll");
      if (data.has_newer || catchUp) { delay = 0; }
      catchUp = false;
      if (!stream && !streamRetry) { openStream(); }
    } catch (error) {
      delay = handleFailure(error);
    } finally {
      polling = false;
    }
    // While streaming a poll is the one catch-up after `ready` (more pages of it at once if need be).
    if (delay !== null && (!streaming || delay === 0)) { schedule(delay); }
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

  // Each field's message goes in the <p> whose id is the field's plus "-error".
  function setFieldError(input, message) {
    markField(input, $(input.id + "-error"), message);
  }

  function validateStart() {
    const name = $("start-name");
    const email = $("start-email");
    const message = $("start-message");
    const problems = [
      [name, name.value.trim() ? "" : "Please tell us your name."],
      [email, !email.value.trim() ? "Please give your e-mail address." :
        (EMAIL_SHAPE.test(email.value.trim()) ? "" : "This does not look like an e-mail address.")],
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
    $("start-error").hidden = true;
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
      openStream();
    } catch (error) {
      button.disabled = false;
      if (error instanceof HttpError && error.status === 422) {
        Object.entries(error.fieldErrors).forEach(([field, reasons]) => {
          if (START_FIELDS[field]) { setFieldError($(START_FIELDS[field]), reasons.join(" ")); }
        });
      }
      const text = error instanceof HttpError && error.status === 429
        ? "Too many chats started from your network; please try again in a little while."
        : (error instanceof HttpError && error.status === 422 ? "Please check the fields above."
          : "We could not start the chat just now; please try again.");
      $("start-error").textContent = text;
      $("start-error").hidden = false;
    }
  });

  function setReplyError(text) {
    markField(replyBody, $("reply-error"), text);
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
        setReplyError((error.fieldErrors.body || ["This message cannot be sent."]).join(" "));
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

  sendOnEnter(replyBody, () => replyForm.requestSubmit());

  $("end-chat").addEventListener("click", async () => {
    try {
      showConversation(await call("POST", "/conversation/close"));
      if (!streaming) { schedule(0); }  // the closing line in the thread (the stream brings it too)
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
      if (!streaming) { schedule(0); }
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
      openStream();
    }).catch((error) => {
      const delay = handleFailure(error);
      if (delay !== null) {
        threadView.hidden = false;
        schedule(delay);
      }
    });
  } else {
    showStart();
  }
}
