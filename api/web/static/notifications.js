// The notifications: a badge with the unread count, and the list, which marks what it shows read.

import { NetworkError, call, current, currentGeneration, describe } from "./api.js";
import { $, node, shorten, showBanner } from "./dom.js";
import { formatTime, has, t } from "./i18n.js";
import { turnElement } from "./conversation.js";

const BADGE_POLL_MS = 20_000;
let badgeTimer = null;
let expectTimer = null;
let unread = 0;
let cursor = null;

function setBadge(count) {
  unread = Math.max(0, count);
  $("badge").textContent = String(unread);
  $("badge").hidden = unread === 0;
  $("bell").setAttribute("aria-label", `${t("inbox.title")}: ${t("inbox.unread", { n: unread })}`);
}

async function refreshBadge() {
  if (!current()) return unread;
  const mine = currentGeneration();
  try {
    const page = await call("GET", "notifications?limit=1");
    if (mine === currentGeneration()) setBadge(page.unread_count);
  } catch (error) {
    if (mine === currentGeneration() && !(error instanceof NetworkError)) showBanner(describe(error));
  }
  return unread;
}

export function start() {
  setBadge(0);
  refreshBadge();
  clearInterval(badgeTimer);
  badgeTimer = setInterval(() => (current() ? refreshBadge() : clearInterval(badgeTimer)), BADGE_POLL_MS);
}

export function stop() {
  clearInterval(badgeTimer);
  clearTimeout(expectTimer);
  close(false);
  $("inbox-list").replaceChildren();
  setBadge(0);
}

/** A question just became final: its notification follows shortly; look for it a few times. */
export function expect() {
  clearTimeout(expectTimer);
  const before = unread;
  const mine = currentGeneration();
  let delay = 300;
  const look = async () => {
    if (mine !== currentGeneration()) return;
    const now = await refreshBadge();
    if (now > before || delay > 5_000) return;
    delay *= 2;
    expectTimer = setTimeout(look, delay);
  };
  expectTimer = setTimeout(look, delay);
}

function render(item, questions) {
  const text = has(`notice.${item.status}`) ? t(`notice.${item.status}`) : item.message;
  const turn = turnElement(item.question_id);
  const about = questions.get(item.question_id);
  return node(
    "li",
    { className: item.read_at ? "read" : "unread", "data-notification-id": item.notification_id },
    turn
      ? node("button", {
          type: "button",
          className: "link",
          onclick: () => {
            close(false);
            turn.scrollIntoView({ block: "center" });
            turn.focus();
          },
        }, text)
      : text,
    about ? node("span", { className: "when" }, `“${shorten(about)}”`) : null,
    node("span", { className: "when" }, formatTime(item.created_at)),
  );
}

function questionTexts() {
  const texts = new Map();
  for (const element of document.querySelectorAll("#thread > li.turn")) {
    texts.set(element.dataset.questionId, element.querySelector(".question-text").textContent);
  }
  return texts;
}

async function load(reset) {
  const mine = currentGeneration();
  const more = $("inbox-more");
  more.disabled = true;
  try {
    const query = new URLSearchParams({ limit: "20" });
    if (!reset && cursor) query.set("cursor", cursor);
    const page = await call("GET", `notifications?${query}`);
    if (mine !== currentGeneration()) return;
    if (reset) $("inbox-list").replaceChildren();
    const texts = questionTexts();
    const rows = new Map(page.items.map((item) => [item.notification_id, render(item, texts)]));
    $("inbox-list").append(...rows.values());
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    $("inbox-empty").hidden = $("inbox-list").children.length > 0;
    // Opening the list reads what it shows.
    const fresh = page.items.filter((item) => !item.read_at);
    const results = await Promise.allSettled(
      fresh.map((item) => call("POST", `notifications/${encodeURIComponent(item.notification_id)}/read`)),
    );
    if (mine !== currentGeneration()) return;
    fresh.forEach((item, index) => {
      if (results[index].status === "fulfilled") rows.get(item.notification_id).className = "read";
    });
    const failed = results.find((result) => result.status === "rejected");
    if (failed) showBanner(describe(failed.reason));
    setBadge(page.unread_count - results.filter((r) => r.status === "fulfilled").length);
  } catch (error) {
    if (mine === currentGeneration()) showBanner(describe(error));
  } finally {
    more.disabled = false;
  }
}

export function open() {
  $("inbox").hidden = false;
  $("bell").setAttribute("aria-expanded", "true");
  $("inbox").focus();
  load(true);
}

export function close(restoreFocus = true) {
  if ($("inbox").hidden) return;
  $("inbox").hidden = true;
  $("bell").setAttribute("aria-expanded", "false");
  if (restoreFocus) $("bell").focus();
}

export function wire() {
  $("bell").addEventListener("click", () => ($("inbox").hidden ? open() : close()));
  $("inbox-close").addEventListener("click", () => close());
  $("inbox-more").addEventListener("click", () => load(false));
}

export const isOpen = () => !$("inbox").hidden;
