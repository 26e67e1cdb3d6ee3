// The conversation on screen: its questions in time order, each followed to its answer by
// exactly one timer, answers rendered from markdown with their citations, copy and ratings.

import { ApiError, NetworkError, call, current, currentGeneration, describe } from "./api.js";
import { $, announce, bannerKind, node, shorten, showBanner } from "./dom.js";
import { LANG, formatDate, formatDuration, formatTime, t } from "./i18n.js";
import { linkCitations, renderMarkdown } from "./markdown.js";

export const FINAL = new Set(["answered", "failed", "rejected"]);
const PAGE_SIZE = 20;

// Following a question: the first look soon, then every half second while an answer is
// likely (a model answers within seconds), then less often for the slow ones.
export const POLL = { firstMs: 250, fastMs: 500, fastForMs: 20_000, maxMs: 5_000 };

const turns = new Map(); // question_id -> {item, element}
const follows = new Map(); // question_id -> {timer, delay, started, generation}
const hooks = { final: [], asked: [] };
let conversationId = null;
let olderCursor = null;
let loading = false;

export const onFinal = (hook) => hooks.final.push(hook);
export const onAsked = (hook) => hooks.asked.push(hook);
export const currentConversation = () => conversationId;
export const turnElement = (questionId) => turns.get(questionId)?.element ?? null;

// --------------------------------------------------------------------------- scrolling
const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
}

function toBottom() {
  window.scrollTo({ top: document.documentElement.scrollHeight, behavior: reduceMotion.matches ? "auto" : "smooth" });
}

/** Bring a new answer into view: all of it when it fits, else its beginning. */
function reveal(element) {
  const room = window.innerHeight - ($("composer")?.offsetHeight ?? 0);
  if (element.offsetHeight < room) toBottom();
  else element.scrollIntoView({ block: "start", behavior: reduceMotion.matches ? "auto" : "smooth" });
}

// --------------------------------------------------------------------------- rendering
function sourceItem(item, source, index) {
  const n = index + 1;
  return node(
    "li",
    { id: `src-${item.question_id}-${n}`, value: n },
    node("button", { type: "button", className: "link source", "data-entry": source.id, onclick: () => openEntry(source.id) }, source.title),
  );
}

function answerBody(item) {
  const sources = Array.isArray(item.sources) ? item.sources : [];
  const body = node("div", { className: "answer markdown" });
  body.append(renderMarkdown(item.answer));
  linkCitations(body, sources.length, (n) =>
    node(
      "a",
      { className: "cite", href: `#src-${item.question_id}-${n}`, "aria-label": t("answer.cite", { n, title: sources[n - 1].title }) },
      `[${n}]`,
    ),
  );
  return { body, sources };
}

// A thumb (Material Icons' thumb_up, Apache-2.0), turned over for "down".
const THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";

function thumb(rating) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", rating === "down" ? "thumb down" : "thumb");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", THUMB);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function ratingButton(item, rating) {
  const chosen = item.feedback && item.feedback.rating === rating;
  return node(
    "button",
    {
      type: "button",
      className: `secondary icon rate-${rating}`,
      "aria-pressed": chosen ? "true" : "false",
      "data-rating": rating,
      onclick: (event) => rate(item, rating, event.currentTarget),
    },
    thumb(rating),
    node("span", { className: "visually-hidden" }, t(rating === "up" ? "answer.good" : "answer.bad")),
  );
}

function commentForm(item) {
  const id = `comment-${item.question_id}`;
  const field = node("textarea", { id, rows: "2", maxlength: "1000" });
  const form = node(
    "form",
    { className: "comment", hidden: true, novalidate: true },
    node("label", { for: id }, t("answer.commentLabel")),
    field,
    node(
      "div",
      { className: "actions" },
      node("button", { type: "submit" }, t("answer.commentSend")),
      node("button", { type: "button", className: "secondary", onclick: () => closeComment(form, item) }, t("answer.commentSkip")),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const rating = turns.get(item.question_id)?.item.feedback?.rating;
    if (rating) sendRating(item.question_id, rating, field.value.trim(), form);
  });
  return form;
}

function renderTurn(item) {
  const status = item.status;
  const reply = node("div", { className: "reply" });
  if (status === "answered") {
    const { body, sources } = answerBody(item);
    reply.append(body);
    if (sources.length) {
      reply.append(node("div", { className: "sources" }, node("h3", {}, t("answer.sources")), node("ol", {}, sources.map((s, i) => sourceItem(item, s, i)))));
    }
    reply.append(
      node(
        "div",
        { className: "answer-actions" },
        node("button", { type: "button", className: "secondary copy", onclick: (event) => copy(body, event.currentTarget) }, t("answer.copy")),
        ratingButton(item, "up"),
        ratingButton(item, "down"),
        node("span", { className: "feedback-status", role: "status" }),
      ),
      commentForm(item),
    );
    if (item.model) {
      const facts = t("answer.detailsText", { model: item.model, duration: formatDuration(item.latency_ms), kb: item.kb_version || "—" });
      reply.append(
        node(
          "details",
          { className: "details" },
          node("summary", {}, t("answer.details")),
          node("p", {}, facts),
          item.from_cache ? node("p", {}, t("answer.fromCache")) : null,
        ),
      );
    }
  } else {
    reply.append(node("p", { className: "status" }, node("span", { className: `chip ${status}` }, t(`status.${status}`))));
  }
  if (status === "failed" || status === "rejected") {
    const reason = (item.error && (item.error.message || item.error.code)) || t("answer.noReason");
    reply.append(
      node("p", { className: "reason" }, t("answer.why", { reason })),
      node("div", { className: "actions" }, node("button", { type: "button", className: "secondary retry", onclick: (event) => retry(item, event.currentTarget) }, t("answer.retry"))),
    );
  }
  return node(
    "li",
    {
      className: "turn",
      id: `q-${item.question_id}`,
      "data-question-id": item.question_id,
      "data-status": status,
      "aria-busy": FINAL.has(status) ? "false" : "true",
      tabindex: "-1",
    },
    node(
      "div",
      { className: "asked" },
      node("p", { className: "question-text" }, item.question),
      node("p", { className: "when" }, node("time", { datetime: item.created_at }, t("question.asked", { time: formatTime(item.created_at) }))),
    ),
    reply,
  );
}

/** Show ``item`` (new or changed); returns its element. Never starts a timer: follow() does. */
function show(item, { before = false } = {}) {
  const known = turns.get(item.question_id);
  const element = renderTurn(item);
  if (known) {
    known.element.replaceWith(element);
    known.element = element;
    known.item = item;
  } else {
    turns.set(item.question_id, { item, element });
    if (before) $("thread").prepend(element);
    else $("thread").append(element);
  }
  $("thread-empty").hidden = turns.size > 0;
  return element;
}

// --------------------------------------------------------------------------- following
// With a live connection open (live.js), updates are pushed and nothing is polled but a
// safety look every 15 s; without one, each open question is polled as POLL says.
let live = false;
const SAFETY_MS = 15_000;

function follow(item) {
  if (FINAL.has(item.status) || follows.has(item.question_id)) return;
  const watch = { timer: null, delay: POLL.fastMs, started: Date.now(), generation: currentGeneration(), sessionId: item.session_id };
  follows.set(item.question_id, watch);
  watch.timer = setTimeout(() => poll(item.question_id, watch), live ? SAFETY_MS : POLL.firstMs);
}

function stopFollowing() {
  for (const watch of follows.values()) clearTimeout(watch.timer);
  follows.clear();
}

/** The live connection opened (true) or closed (false). On opening, each open question is
 *  looked at once, for an update sent while there was no connection; on closing, polling
 *  takes over. */
export function setLive(on) {
  if (live === on) return;
  live = on;
  for (const [questionId, watch] of follows) {
    clearTimeout(watch.timer);
    watch.started = Date.now();
    watch.delay = POLL.fastMs;
    watch.timer = setTimeout(() => poll(questionId, watch), on ? 0 : POLL.firstMs);
  }
}

/** An update pushed over the live connection. */
export function applyUpdate(message) {
  if (!message || message.type !== "question") return;
  const known = turns.get(message.question_id);
  if (!known) return; // a question of another conversation: shown when that one is opened
  const { type, ...fields } = message;
  arrived(message.question_id, { ...known.item, ...fields });
}

/** A question as it is now (polled or pushed): drawn when it changed; finished when final. */
function arrived(questionId, item) {
  const known = turns.get(questionId);
  if (known && known.item.status !== item.status) {
    const stay = nearBottom();
    const element = show(item);
    if (FINAL.has(item.status) && stay) reveal(element);
  }
  if (FINAL.has(item.status) && follows.has(questionId)) {
    clearTimeout(follows.get(questionId).timer);
    follows.delete(questionId);
    announce(t("announce.final", { text: shorten(item.question), status: t(`status.${item.status}`) }));
    for (const hook of hooks.final) hook(item);
  }
}

async function poll(questionId, watch) {
  watch.timer = null;
  const session = current();
  if (follows.get(questionId) !== watch || watch.generation !== currentGeneration() || !session) return;
  let item;
  try {
    item = await call("GET", `questions/${encodeURIComponent(watch.sessionId)}/${encodeURIComponent(questionId)}`);
  } catch (error) {
    if (follows.get(questionId) !== watch) return;
    watch.delay = Math.min(Math.max(watch.delay, 1000) * 2, POLL.maxMs * 2);
    if (error instanceof NetworkError || (error instanceof ApiError && error.status >= 500)) {
      showBanner(t("error.polling", { s: Math.round(watch.delay / 1000) }), "polling");
      watch.timer = setTimeout(() => poll(questionId, watch), watch.delay);
    } else {
      follows.delete(questionId);
      showBanner(describe(error));
    }
    return;
  }
  if (follows.get(questionId) !== watch) return; // stopped or finished while the request was out
  if (bannerKind() === "polling") showBanner("");
  arrived(questionId, item);
  if (follows.get(questionId) !== watch) return;
  const elapsed = Date.now() - watch.started;
  watch.delay = elapsed < POLL.fastForMs ? POLL.fastMs : Math.min(watch.delay * 1.5, POLL.maxMs);
  watch.timer = setTimeout(() => poll(questionId, watch), live ? SAFETY_MS : watch.delay);
}

// --------------------------------------------------------------------------- loading
/** Show conversation ``sessionId`` from its newest page; ``fresh`` for a new, empty one. */
export async function open(sessionId, { fresh = false } = {}) {
  stopFollowing();
  turns.clear();
  $("thread").replaceChildren();
  conversationId = sessionId;
  olderCursor = null;
  $("earlier").hidden = true;
  $("thread-empty").hidden = !fresh;
  if (!fresh) await loadOlder();
  toBottom();
}

/** The page of questions before the ones shown (the newest page first). */
export async function loadOlder() {
  if (loading || !conversationId) return;
  loading = true;
  const mine = currentGeneration();
  const conversation = conversationId;
  const button = $("earlier");
  button.disabled = true;
  try {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (olderCursor) query.set("cursor", olderCursor);
    const page = await call("GET", `questions/${encodeURIComponent(conversation)}?${query}`);
    if (mine !== currentGeneration() || conversation !== conversationId) return;
    const anchor = $("thread").firstElementChild;
    const top = anchor ? anchor.getBoundingClientRect().top : 0;
    // The API lists newest first; the conversation reads oldest first.
    for (const item of page.items) {
      if (turns.has(item.question_id)) continue;
      show(item, { before: true });
      follow(item); // the ones still on their way are followed to their answers
    }
    if (anchor && olderCursor) window.scrollBy(0, anchor.getBoundingClientRect().top - top);
    olderCursor = page.next_cursor || null;
    button.hidden = !olderCursor;
    $("thread-empty").hidden = turns.size > 0;
  } catch (error) {
    if (mine === currentGeneration()) showBanner(describe(error));
  } finally {
    loading = false;
    button.disabled = false;
  }
}

export function clear() {
  stopFollowing();
  turns.clear();
  conversationId = null;
  $("thread").replaceChildren();
}

// --------------------------------------------------------------------------- asking
let sending = false;

/** Ask ``text`` in the conversation on screen; true when the API accepted it. */
export async function ask(text, button) {
  if (sending) return false;
  sending = true;
  const mine = currentGeneration();
  const conversation = conversationId;
  const askButton = $("ask");
  const label = button.textContent;
  askButton.disabled = button.disabled = true;
  if (button === askButton) button.textContent = t("ask.sending");
  try {
    const accepted = await call("POST", "questions", { body: { question: text, session_id: conversation } });
    if (mine !== currentGeneration() || conversation !== conversationId) return false;
    const item = { ...accepted, question: text.trim() };
    show(item);
    follow(item);
    toBottom();
    showBanner("");
    for (const hook of hooks.asked) hook(item);
    return true;
  } catch (error) {
    if (mine !== currentGeneration()) return false;
    for (const hook of hooks.asked) hook(null, error);
    return false;
  } finally {
    sending = false;
    askButton.disabled = button.disabled = false;
    button.textContent = label;
  }
}

/** Try a failed or rejected question again: the same question, followed again. */
async function retry(item, button) {
  button.disabled = true;
  const mine = currentGeneration();
  try {
    const accepted = await call("POST", `questions/${encodeURIComponent(item.session_id)}/${encodeURIComponent(item.question_id)}/retry`);
    if (mine !== currentGeneration() || !turns.has(item.question_id)) return;
    const again = { ...item, status: accepted.status, error: null, answer: null, sources: [] };
    show(again).focus();
    follow(again);
  } catch (error) {
    button.disabled = false;
    if (mine === currentGeneration()) showBanner(describe(error));
  }
}

// --------------------------------------------------------------------------- per answer
async function copy(body, button) {
  const status = button.parentElement.querySelector(".feedback-status");
  try {
    await navigator.clipboard.writeText(body.innerText.trim());
    status.textContent = t("answer.copied");
  } catch {
    status.textContent = t("answer.copyFailed");
  }
}

function rate(item, rating, button) {
  const known = turns.get(item.question_id);
  if (!known) return;
  const form = known.element.querySelector("form.comment");
  sendRating(item.question_id, rating, null, null).then((saved) => {
    if (saved && form) {
      form.hidden = false;
      form.querySelector("textarea").focus();
    } else button.focus();
  });
}

async function sendRating(questionId, rating, comment, form) {
  const known = turns.get(questionId);
  if (!known) return false;
  const status = known.element.querySelector(".feedback-status");
  try {
    const body = comment ? { rating, comment } : { rating };
    const feedback = await call("PUT", `questions/${encodeURIComponent(known.item.session_id)}/${encodeURIComponent(questionId)}/feedback`, { body });
    known.item = { ...known.item, feedback };
    for (const other of known.element.querySelectorAll("[data-rating]")) {
      other.setAttribute("aria-pressed", String(other.dataset.rating === feedback.rating));
    }
    status.textContent = t("answer.thanks");
    if (form) closeComment(form, known.item);
    return true;
  } catch (error) {
    status.textContent = describe(error);
    return false;
  }
}

function closeComment(form, item) {
  form.hidden = true;
  form.reset();
  turnElement(item.question_id)?.querySelector(`[data-rating="${turns.get(item.question_id)?.item.feedback?.rating}"]`)?.focus();
}

// --------------------------------------------------------------------------- sources
const entries = new Map();

async function openEntry(entryId) {
  const dialog = $("entry-dialog");
  try {
    if (!entries.has(entryId)) entries.set(entryId, await call("GET", `knowledge/${encodeURIComponent(entryId)}?language=${LANG}`));
  } catch (error) {
    showBanner(describe(error));
    return;
  }
  const entry = entries.get(entryId);
  $("entry-title").textContent = entry.title;
  $("entry-reviewed").textContent = t("entry.reviewed", { date: formatDate(entry.reviewed) });
  $("entry-body").replaceChildren(...entry.body.split(/\n\s*\n/).map((text) => node("p", {}, text.trim())));
  const link = $("entry-link");
  link.hidden = !entry.url;
  if (entry.url) link.href = entry.url;
  dialog.showModal();
}
