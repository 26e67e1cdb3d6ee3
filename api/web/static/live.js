// The live connection: question updates pushed over a WebSocket (API Gateway's on AWS, toro
// dev's /ws locally). While it is open nothing is polled; when it cannot open or drops, the
// conversation polls again and this module reconnects with backoff (1 s, doubling, up to 30 s).
// While open it sends {"action":"keepalive"} every KEEPALIVE_MS: API Gateway closes a connection
// with no message either way for 10 minutes, and a reconnect costs a ticket, a connect and a
// disconnect (docs/deploy.md, cost); the stage's keepalive route answers it with nothing, at the
// price of one message.

import { call, current, currentGeneration } from "./api.js";
import * as conversation from "./conversation.js";

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
// Half of API Gateway's idle timeout (10 minutes): a hidden tab's timers may fire a minute late.
const KEEPALIVE_MS = 5 * 60_000;
const KEEPALIVE = JSON.stringify({ action: "keepalive" });
let socket = null;
let timer = null;
let keepalive = null;
let retry = FIRST_RETRY_MS;

async function connect(mine) {
  if (mine !== currentGeneration() || !current()) return;
  let ticket;
  try {
    ticket = await call("POST", "live/ticket");
  } catch {
    later(mine);
    return;
  }
  if (mine !== currentGeneration()) return;
  let ws;
  try {
    ws = new WebSocket(ticket.url, ticket.protocols);
  } catch {
    later(mine);
    return;
  }
  socket = ws;
  ws.addEventListener("open", () => {
    retry = FIRST_RETRY_MS;
    clearInterval(keepalive);
    keepalive = setInterval(() => {
      if (socket === ws && ws.readyState === WebSocket.OPEN) ws.send(KEEPALIVE);
    }, KEEPALIVE_MS);
    document.documentElement.dataset.live = "open";
    conversation.setLive(true);
  });
  ws.addEventListener("message", (event) => {
    let message = null;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // not ours
    }
    conversation.applyUpdate(message);
  });
  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    socket = null;
    clearInterval(keepalive);
    document.documentElement.dataset.live = "closed";
    conversation.setLive(false);
    later(mine);
  });
}

function later(mine) {
  clearTimeout(timer);
  if (mine !== currentGeneration() || !current()) return;
  timer = setTimeout(() => connect(mine), retry);
  retry = Math.min(retry * 2, MAX_RETRY_MS);
}

/** Open the connection for the session now signed in. */
export function start() {
  stop();
  retry = FIRST_RETRY_MS;
  connect(currentGeneration());
}

/** Close it (the session ended). */
export function stop() {
  clearTimeout(timer);
  clearInterval(keepalive);
  const open = socket;
  socket = null;
  if (open) open.close();
  delete document.documentElement.dataset.live;
  conversation.setLive(false);
}
