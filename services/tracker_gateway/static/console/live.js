// Live events for console pages: GET /api/live as server-sent events, read with fetch so that the
// access token travels in a header (EventSource cannot send one), reconnecting with back-off.
//
//   openLive({ feeds: ["tickets"], onReady, onEvent })
//   onReady(): (re)load your state - called on every (re)connection, when events may have been missed
//   onEvent(type, event): event = {event_id, event_type, occurred_at, data}, e.g. type "ticket.updated"
//
// Events can arrive twice (at-least-once upstream): use them as hints to refresh.

import { readEvents } from "../common/sse.js";
import { accessToken, forgetToken } from "./session.js";

const STATE_TEXT = {
  live: "Live", degraded: "Degraded", connecting: "Connecting…", paused: "Reconnecting…", off: "Offline",
};
const SERVICE_NAMES = { tickets: "tickets", chat: "chat" };
// How often a connected page asks whether the services behind its feeds answer (live_status.py).
const STATUS_SECONDS = 10;

// The header's indicator (templates/console/base.html), for whichever page owns the stream.
// `down`: the services not answering, when the stream itself is connected ("degraded").
export function showLiveState(state, down = []) {
  const node = document.getElementById("live-state");
  if (!node) return;
  node.dataset.state = state;
  node.querySelector(".text").textContent = STATE_TEXT[state] || state;
  node.title = state === "live" ? "Changes by others appear as they happen"
    : state === "degraded" ? `The ${down.map((s) => SERVICE_NAMES[s] || s).join(" and ")} service is not answering: `
      + "changes may not appear until it is back"
      : "Live updates paused; retrying";
}

export function openLive({ feeds, onReady = () => {}, onEvent = () => {} }) {
  let stopped = false;
  let controller = null;
  let delay = 500;
  let connected = false;
  let down = [];

  const showConnected = () => showLiveState(down.length ? "degraded" : "live", down);

  // Connected is not enough: the service publishing a feed's events can be down. Failing to ask is
  // not news about the services (the stream's own state says whether the gateway answers).
  async function checkServices() {
    if (stopped || !connected) return;
    try {
      const token = await accessToken();
      const response = await fetch(`/api/live/status?feeds=${encodeURIComponent(feeds.join(","))}`, {
        headers: { Authorization: `Bearer ${token}` }, cache: "no-store",
      });
      if (!response.ok) return;
      const { services } = await response.json();
      down = Object.keys(services).filter((name) => services[name] !== "ok");
      if (connected && !stopped) showConnected();
    } catch (error) { /* the next round asks again */ }
  }
  const statusTimer = setInterval(checkServices, STATUS_SECONDS * 1000);

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function onFrame(type, data) {
    if (type === "ready") { delay = 500; connected = true; showConnected(); checkServices(); onReady(data); }
    else if (type === "paused") { connected = false; showLiveState("paused"); }
    else if (type === "expired") forgetToken();
    else onEvent(type, data);
  }

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const token = await accessToken();
        const response = await fetch(`/api/live?feeds=${encodeURIComponent(feeds.join(","))}`, {
          headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" },
          cache: "no-store", signal: controller.signal,
        });
        if (response.status === 401) { forgetToken(); continue; }
        if (!response.ok || !response.body) throw new Error(`live: HTTP ${response.status}`);
        await readEvents(response.body, onFrame);
        connected = false;
        // The server ended the stream (token expiry, a gateway restart): reconnect straight away.
        await sleep(200);
      } catch (error) {
        if (stopped) return;
        connected = false;
        showLiveState("paused");
        await sleep(delay + Math.random() * 300);
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  showLiveState("connecting");
  run();
  return { close() { stopped = true; clearInterval(statusTimer); controller?.abort(); showLiveState("off"); } };
}
