// Toro Assistant's page: log in or sign up, then a conversation with the assistant.
// Native ES modules against the REST API under api/v1 (same origin); no build step:
//   i18n.js          the words, in English and Portuguese side by side
//   api.js           requests, errors, the session and its tokens
//   dom.js           building elements, messages, announcements
//   markdown.js      answers as sanitized markdown, citations as links
//   conversation.js  the conversation on screen, following each question to its answer
//   conversations.js the list of conversations (a drawer on phones)
//   notifications.js the badge and the notifications list
//   live.js          the WebSocket that pushes updates (polling when it is closed)

import * as api from "./api.js";
import * as conversation from "./conversation.js";
import * as conversations from "./conversations.js";
import { $, setFieldError, showBanner, showFieldErrors, showMessage } from "./dom.js";
import { t, translatePage } from "./i18n.js";
import * as live from "./live.js";
import * as notifications from "./notifications.js";

const QUESTION_MAX = 2000;

// ------------------------------------------------------------------- log in / sign up
let mode = "login";
let authBusy = false;

function setMode(next) {
  mode = next;
  const signup = mode === "signup";
  $("auth-view").dataset.mode = mode;
  $("auth-heading").textContent = t(signup ? "auth.signupHeading" : "auth.loginHeading");
  $("auth-submit").textContent = t(signup ? "auth.register" : "auth.login");
  $("auth-switch").textContent = t(signup ? "auth.toLogin" : "auth.toSignup");
  $("password").autocomplete = signup ? "new-password" : "current-password";
  $("password-hint").textContent = t(signup ? "auth.newPasswordHint" : "auth.passwordHint");
  showMessage($("auth-error"), "");
  showMessage($("auth-info"), "");
}

async function authenticate(event) {
  event.preventDefault();
  if (authBusy) return;
  authBusy = true;
  const create = mode === "signup";
  const button = $("auth-submit");
  const label = button.textContent;
  button.textContent = t(create ? "auth.registering" : "auth.loggingIn");
  button.disabled = $("auth-switch").disabled = true;
  showMessage($("auth-error"), "");
  showMessage($("auth-info"), "");
  const fields = { username: [$("username"), $("username-error")], password: [$("password"), $("password-error")] };
  for (const [input, message] of Object.values(fields)) setFieldError(input, message, "");
  try {
    await api.authenticate($("username").value.trim(), $("password").value, { create });
    $("password").value = "";
    enterApp();
  } catch (error) {
    if (!showFieldErrors(error, fields)) {
      let text = api.describe(error);
      if (error instanceof api.ApiError && error.code === "unauthorized") text = t("auth.invalid");
      if (error instanceof api.ApiError && error.code === "username_taken") text = t("auth.taken");
      showMessage($("auth-error"), text);
    }
  } finally {
    authBusy = false;
    button.textContent = label;
    button.disabled = $("auth-switch").disabled = false;
  }
}

function showAuth(reason, calm) {
  live.stop();
  conversation.clear();
  conversations.clear();
  notifications.stop();
  conversations.closeDrawer(false);
  $("account").hidden = true;
  $("app-view").hidden = true;
  $("auth-view").hidden = false;
  setMode("login"); // whoever had a session has an account
  showBanner("");
  showMessage(calm ? $("auth-info") : $("auth-error"), reason);
  showMessage(calm ? $("auth-error") : $("auth-info"), "");
  $("username").focus();
}

function enterApp() {
  const session = api.current();
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  $("account").hidden = false;
  $("who").textContent = t("auth.who", { name: session.username || "" });
  showBanner("");
  notifications.start();
  live.start();
  conversations.choose(session.session_id);
  conversations.load(true);
}

// --------------------------------------------------------------------------- the composer
function updateComposer() {
  const field = $("question");
  const n = field.value.length;
  $("question-count").textContent = t("ask.counter", { n, max: QUESTION_MAX });
  $("question-count").setAttribute("aria-label", t("ask.counterLabel", { n, max: QUESTION_MAX }));
  $("question-count").classList.toggle("near", n > QUESTION_MAX * 0.9);
  // Grow with the text, up to the stylesheet's max-height (then it scrolls).
  field.style.height = "auto";
  field.style.height = `${field.scrollHeight + 2}px`;
}

async function send(event) {
  event.preventDefault();
  setFieldError($("question"), $("question-error"), "");
  if (await conversation.ask($("question").value, $("ask"))) {
    $("question").value = "";
    updateComposer();
    $("question").focus();
  }
}

function askedHook(item, error) {
  if (item) {
    conversations.asked(item);
    return;
  }
  const field = $("question");
  if (!showFieldErrors(error, { question: [field, $("question-error")] })) {
    setFieldError(field, $("question-error"), api.describe(error));
  }
}

// ------------------------------------------------------------------------------- wiring
function start() {
  translatePage();
  setMode("login");
  updateComposer();
  api.onEnded((reason, calm) => showAuth(reason, calm));
  conversation.onAsked(askedHook);
  conversation.onFinal(() => notifications.expect());
  notifications.wire();
  conversations.wire();

  $("auth-form").addEventListener("submit", authenticate);
  $("auth-switch").addEventListener("click", () => {
    setMode(mode === "login" ? "signup" : "login");
    $("username").focus();
  });
  $("logout").addEventListener("click", () => api.end(t("auth.loggedOut"), { logout: true, calm: true }));
  $("composer").addEventListener("submit", send);
  $("question").addEventListener("input", updateComposer);
  $("question").addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter adds a line; nothing while an input method is composing.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("earlier").addEventListener("click", () => conversation.loadOlder());
  $("banner-close").addEventListener("click", () => showBanner(""));
  $("entry-close").addEventListener("click", () => $("entry-dialog").close());
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (notifications.isOpen()) notifications.close();
    else if (conversations.drawerOpen()) conversations.closeDrawer();
  });

  api
    .resume()
    .then((resumed) => {
      if (resumed) enterApp();
      else showAuth("", true);
    })
    .catch((error) => {
      showAuth(error.expired ? t("auth.expired") : "", !error.expired);
      if (!error.expired) showBanner(api.describe(error));
    });
}

start();
