// The side list of the person's conversations (a drawer on phones), and starting a new one.

import { call, currentGeneration, describe } from "./api.js";
import { $, node, showBanner } from "./dom.js";
import { formatTime, t, tn } from "./i18n.js";
import * as conversation from "./conversation.js";

const known = new Map(); // session_id -> {session_id, title, last_activity_at, question_count}
let order = []; // session ids, most recent activity first
let cursor = null;
const wide = window.matchMedia("(min-width: 60rem)");

function render() {
  const active = conversation.currentConversation();
  const ids = order.includes(active) || !active ? order : [active, ...order];
  $("conversation-list").replaceChildren(
    ...ids.map((id) => {
      const item = known.get(id) || { session_id: id, title: null, question_count: 0 };
      const title = item.title || t("conversations.untitled");
      return node(
        "li",
        {},
        node(
          "button",
          {
            type: "button",
            className: "conversation",
            "data-session-id": id,
            "aria-current": id === active ? "true" : false,
            onclick: () => choose(id),
          },
          node("span", { className: "title" }, title),
          item.last_activity_at
            ? node("span", { className: "when" }, tn("conversations.count", item.question_count, { time: formatTime(item.last_activity_at) }))
            : null,
        ),
      );
    }),
  );
  const heading = known.get(active)?.title || t("conversations.untitled");
  $("conversation-heading").textContent = heading;
}

export async function load(reset = true) {
  const mine = currentGeneration();
  const more = $("conversations-more");
  more.disabled = true;
  try {
    const query = new URLSearchParams({ limit: "20" });
    if (!reset && cursor) query.set("cursor", cursor);
    const page = await call("GET", `sessions?${query}`);
    if (mine !== currentGeneration()) return;
    if (reset) {
      known.clear();
      order = [];
    }
    for (const item of page.items) {
      if (!known.has(item.session_id)) order.push(item.session_id);
      known.set(item.session_id, item);
    }
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    render();
  } catch (error) {
    if (mine === currentGeneration()) showBanner(describe(error));
  } finally {
    more.disabled = false;
  }
}

/** Show conversation ``id`` and close the drawer on phones. */
export async function choose(id, { fresh = false } = {}) {
  closeDrawer(false);
  const opening = conversation.open(id, { fresh });
  render();
  await opening;
  $("question").focus();
}

export async function startNew() {
  try {
    const created = await call("POST", "sessions");
    known.set(created.session_id, created);
    order = [created.session_id, ...order.filter((id) => id !== created.session_id)];
    await choose(created.session_id, { fresh: true });
  } catch (error) {
    showBanner(describe(error));
  }
}

/** A question was accepted in the conversation on screen: it moves to the top of the list. */
export function asked(item) {
  const id = item.session_id;
  const before = known.get(id) || { session_id: id, title: null, question_count: 0 };
  known.set(id, {
    ...before,
    title: before.title || item.question,
    question_count: (before.question_count || 0) + 1,
    last_activity_at: item.created_at,
  });
  order = [id, ...order.filter((other) => other !== id)];
  render();
}

export function clear() {
  known.clear();
  order = [];
  $("conversation-list").replaceChildren();
}

// ------------------------------------------------------------------ the drawer on phones
export function openDrawer() {
  $("conversations").classList.add("open");
  $("conversations-toggle").setAttribute("aria-expanded", "true");
  $("conversations").focus();
}

export function closeDrawer(restoreFocus = true) {
  if (!$("conversations").classList.contains("open")) return;
  $("conversations").classList.remove("open");
  $("conversations-toggle").setAttribute("aria-expanded", "false");
  if (restoreFocus && !wide.matches) $("conversations-toggle").focus();
}

export const drawerOpen = () => $("conversations").classList.contains("open");

export function wire() {
  $("conversations-toggle").addEventListener("click", () => (drawerOpen() ? closeDrawer() : openDrawer()));
  $("conversations-close").addEventListener("click", () => closeDrawer());
  $("new-conversation").addEventListener("click", startNew);
  $("conversations-more").addEventListener("click", () => load(false));
}
