// Toro Assistant's page: log in, ask, follow each answer arrive, history and notifications.
// Plain JavaScript against the REST API under api/v1 (same origin); no build step.
"use strict";

(() => {
  // ---------------------------------------------------------------- interface text (PT / EN)
  const TEXT = {
    en: {
      "app.title": "Toro Assistant",
      "app.tagline": "Ask about investing; the answer arrives here.",
      "account.label": "Account",
      "auth.heading": "Log in or create an account",
      "auth.username": "Username",
      "auth.usernameHint": "3 to 32 letters, digits, _ . or -",
      "auth.password": "Password",
      "auth.passwordHint": "At least 8 characters",
      "auth.login": "Log in",
      "auth.register": "Create account",
      "auth.logout": "Log out",
      "auth.loggingIn": "Logging in…",
      "auth.registering": "Creating your account…",
      "auth.who": "Signed in as {name}",
      "auth.invalid": "Wrong username or password.",
      "auth.taken": "That username is taken; choose another.",
      "auth.expired": "Your session has ended. Please log in again.",
      "auth.loggedOut": "You have logged out.",
      "banner.close": "Dismiss",
      "ask.heading": "Ask a question",
      "ask.label": "Your question",
      "ask.placeholder": "e.g. What is the Tesouro Selic?",
      "ask.counter": "{n} / {max}",
      "ask.counterLabel": "{n} of {max} characters",
      "ask.submit": "Ask",
      "ask.sending": "Sending…",
      "ask.shortcut": "Ctrl+Enter sends",
      "history.heading": "Your questions",
      "history.empty": "You have not asked anything yet.",
      "list.more": "Load more",
      "list.loading": "Loading…",
      "status.pending": "Waiting",
      "status.processing": "Being answered",
      "status.answered": "Answered",
      "status.failed": "Failed",
      "status.rejected": "Not accepted",
      "question.asked": "Asked {time}",
      "question.model": "Answered by {model} in {duration}",
      "answer.sources": "Sources",
      "answer.why": "Why: {reason}",
      "answer.noReason": "No reason was given.",
      "answer.retry": "Try again",
      "announce.final": "Your question “{text}”: {status}.",
      "inbox.title": "Notifications",
      "inbox.unread": "{n} unread",
      "inbox.close": "Close",
      "inbox.empty": "No notifications yet.",
      "notice.answered": "Your question has been answered.",
      "notice.failed": "We could not answer your question.",
      "notice.rejected": "Your question was not accepted.",
      "error.network": "Could not reach the service. Check your connection and try again.",
      "error.polling": "Could not reach the service; trying again in {s} s.",
      "error.server": "The service is having trouble right now ({code}). Please try again shortly.",
      "error.rate": "You are asking too fast. Please wait {s} seconds and try again.",
      "error.unexpected": "Something went wrong: {message}",
    },
    pt: {
      "app.title": "Toro Assistant",
      "app.tagline": "Pergunte sobre investimentos; a resposta chega aqui.",
      "account.label": "Conta",
      "auth.heading": "Entre ou crie uma conta",
      "auth.username": "Nome de usuário",
      "auth.usernameHint": "De 3 a 32 letras, algarismos, _ . ou -",
      "auth.password": "Senha",
      "auth.passwordHint": "Pelo menos 8 caracteres",
      "auth.login": "Entrar",
      "auth.register": "Criar conta",
      "auth.logout": "Sair",
      "auth.loggingIn": "Entrando…",
      "auth.registering": "Criando sua conta…",
      "auth.who": "Conectado como {name}",
      "auth.invalid": "Usuário ou senha incorretos.",
      "auth.taken": "Esse nome de usuário já existe; escolha outro.",
      "auth.expired": "Sua sessão terminou. Entre de novo.",
      "auth.loggedOut": "Você saiu.",
      "banner.close": "Fechar",
      "ask.heading": "Faça uma pergunta",
      "ask.label": "Sua pergunta",
      "ask.placeholder": "Ex.: O que é o Tesouro Selic?",
      "ask.counter": "{n} / {max}",
      "ask.counterLabel": "{n} de {max} caracteres",
      "ask.submit": "Perguntar",
      "ask.sending": "Enviando…",
      "ask.shortcut": "Ctrl+Enter envia",
      "history.heading": "Suas perguntas",
      "history.empty": "Você ainda não perguntou nada.",
      "list.more": "Carregar mais",
      "list.loading": "Carregando…",
      "status.pending": "Aguardando",
      "status.processing": "Sendo respondida",
      "status.answered": "Respondida",
      "status.failed": "Falhou",
      "status.rejected": "Não aceita",
      "question.asked": "Enviada {time}",
      "question.model": "Respondida por {model} em {duration}",
      "answer.sources": "Fontes",
      "answer.why": "Motivo: {reason}",
      "answer.noReason": "Nenhum motivo foi informado.",
      "answer.retry": "Tentar de novo",
      "announce.final": "Sua pergunta “{text}”: {status}.",
      "inbox.title": "Notificações",
      "inbox.unread": "{n} não lidas",
      "inbox.close": "Fechar",
      "inbox.empty": "Nenhuma notificação ainda.",
      "notice.answered": "Sua pergunta foi respondida.",
      "notice.failed": "Não conseguimos responder sua pergunta.",
      "notice.rejected": "Sua pergunta não foi aceita.",
      "error.network": "Não foi possível falar com o serviço. Verifique sua conexão e tente de novo.",
      "error.polling": "Não foi possível falar com o serviço; nova tentativa em {s} s.",
      "error.server": "O serviço está com problemas agora ({code}). Tente de novo em instantes.",
      "error.rate": "Você está perguntando rápido demais. Espere {s} segundos e tente de novo.",
      "error.unexpected": "Algo deu errado: {message}",
    },
  };

  const LANG = (() => {
    for (const tag of navigator.languages || [navigator.language || "en"]) {
      const base = String(tag).toLowerCase().split("-")[0];
      if (base in TEXT) return base;
    }
    return "en";
  })();

  function t(key, values = {}) {
    const template = TEXT[LANG][key] ?? TEXT.en[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }

  function translatePage() {
    document.documentElement.lang = LANG === "pt" ? "pt-BR" : "en";
    document.title = t("app.title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
    }
  }

  // ---------------------------------------------------------------------------- the REST API
  const API = new URL("api/v1/", document.baseURI);
  // Who was logged in on this browser: a name, not a secret. The refresh token lives in an
  // HttpOnly cookie no script can read; the access token only in this page's memory.
  const USER_KEY = "toro.user";
  const FINAL = new Set(["answered", "failed", "rejected"]);
  const PAGE_SIZE = 10;
  const QUESTION_MAX = 2000;

  class ApiError extends Error {
    constructor(status, code, message, details, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details;
      this.retryAfter = retryAfter;
    }
  }

  class NetworkError extends Error {}

  let session = null; // {access_token, session_id, username, expires_at}, in memory only
  let refreshTimer = null;
  let refreshing = null;
  let generation = 0; // bumped on logout: late answers of a previous session are dropped

  async function call(method, path, { body, auth = true, retried = false } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && session) headers.Authorization = `Bearer ${session.access_token}`;
    let response;
    try {
      response = await fetch(new URL(path, API), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (cause) {
      throw new NetworkError(String(cause));
    }
    if (response.status === 401 && auth && session && !retried) {
      if (await refreshTokens()) return call(method, path, { body, auth, retried: true });
      endSession(t("auth.expired"));
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(
        response.status,
        error.code || `http_${response.status}`,
        error.message || response.statusText || `HTTP ${response.status}`,
        Array.isArray(error.details) ? error.details : [],
        Number(response.headers.get("Retry-After")) || null,
      );
    }
    return data;
  }

  /** Any error in words for a person. */
  function describe(error) {
    if (error instanceof NetworkError) return t("error.network");
    if (error instanceof ApiError) {
      if (error.status === 429) return t("error.rate", { s: error.retryAfter || 60 });
      if (error.status >= 500) return t("error.server", { code: error.status });
      const reasons = error.details.map((d) => (d.field ? `${d.field}: ${d.reason}` : d.reason));
      return [error.message, ...reasons].join(" ");
    }
    return t("error.unexpected", { message: error && error.message ? error.message : String(error) });
  }

  // ---------------------------------------------------------------------- session and tokens
  function saveSession(tokens, username) {
    session = {
      access_token: tokens.access_token,
      session_id: tokens.session_id,
      username,
      expires_at: Date.now() + tokens.expires_in * 1000,
    };
    localStorage.setItem(USER_KEY, username);
    scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!session) return;
    const lifetime = session.expires_at - Date.now();
    // Refresh a minute before expiry (or at 80% of a short lifetime), never in the past.
    const lead = Math.min(60_000, lifetime * 0.2);
    refreshTimer = setTimeout(() => refreshTokens().catch(() => scheduleRetryRefresh()), Math.max(0, lifetime - lead));
  }

  function scheduleRetryRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refreshTokens().catch(() => scheduleRetryRefresh()), 10_000);
  }

  /** New tokens for the session; false when the session is over. Network errors propagate. */
  function refreshTokens() {
    if (!session) return Promise.resolve(false);
    if (!refreshing) {
      const current = session;
      // The refresh cookie goes along by itself (same origin, path /api/v1/auth/refresh).
      refreshing = call("POST", "auth/refresh?refresh_cookie=true", { auth: false })
        .then((tokens) => {
          if (session !== current) return false;
          saveSession(tokens, current.username);
          return true;
        })
        .catch((error) => {
          if (error instanceof ApiError && error.status === 401) {
            if (session === current) endSession(t("auth.expired"));
            return false;
          }
          throw error;
        })
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  }

  /** After a reload or in a new tab: a new access token from the refresh cookie, if any. */
  async function resumeSession() {
    const username = localStorage.getItem(USER_KEY);
    if (!username) return false;
    try {
      const tokens = await call("POST", "auth/refresh?refresh_cookie=true", { auth: false });
      saveSession(tokens, username);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        localStorage.removeItem(USER_KEY);
        showMessage(els.authError, t("auth.expired"));
      } else {
        showBanner(describe(error));
      }
      return false;
    }
  }

  // ----------------------------------------------------------------------------- the page
  const $ = (id) => document.getElementById(id);
  const els = {
    account: $("account"), who: $("who"), bell: $("bell"), badge: $("badge"), logout: $("logout"),
    banner: $("banner"), bannerText: $("banner-text"), bannerClose: $("banner-close"),
    announcer: $("announcer"),
    authView: $("auth-view"), authForm: $("auth-form"), username: $("username"), password: $("password"),
    usernameError: $("username-error"), passwordError: $("password-error"),
    authError: $("auth-error"), authInfo: $("auth-info"), login: $("login"), register: $("register"),
    appView: $("app-view"),
    inbox: $("inbox"), inboxList: $("inbox-list"), inboxEmpty: $("inbox-empty"),
    inboxMore: $("inbox-more"), inboxClose: $("inbox-close"),
    askForm: $("ask-form"), question: $("question"), questionError: $("question-error"),
    questionCount: $("question-count"), ask: $("ask"),
    history: $("history"), historyEmpty: $("history-empty"), historyMore: $("history-more"),
  };

  function node(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "className") element.className = value;
      else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        element.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return element;
  }

  function showMessage(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  /** The page-wide message; ``kind`` lets a later success clear only its own kind. */
  function showBanner(text, kind = "") {
    showMessage(els.bannerText, text);
    els.banner.hidden = !text;
    els.banner.dataset.kind = text ? kind : "";
  }

  function announce(text) {
    els.announcer.textContent = "";
    // A change after a tick is what screen readers announce.
    setTimeout(() => {
      els.announcer.textContent = text;
    }, 50);
  }

  const dateFormat = new Intl.DateTimeFormat(LANG === "pt" ? "pt-BR" : "en", {
    dateStyle: "medium",
    timeStyle: "short",
  });
  const formatTime = (iso) => (iso ? dateFormat.format(new Date(iso)) : "");
  const secondsFormat = new Intl.NumberFormat(LANG === "pt" ? "pt-BR" : "en", { maximumFractionDigits: 1 });
  const formatDuration = (ms) => (ms >= 1000 ? `${secondsFormat.format(ms / 1000)} s` : `${Math.max(0, ms || 0)} ms`);

  function setFieldError(input, message, text) {
    showMessage(message, text);
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  /** Validation details next to their fields; true when each found its field. */
  function showFieldErrors(error, fields) {
    if (!(error instanceof ApiError) || error.status !== 422 || !error.details.length) return false;
    let placed = true;
    const byField = new Map();
    for (const detail of error.details) {
      if (detail.field in fields) byField.set(detail.field, [...(byField.get(detail.field) || []), detail.reason]);
      else placed = false;
    }
    for (const [field, [input, message]] of Object.entries(fields)) {
      setFieldError(input, message, (byField.get(field) || []).join(" "));
    }
    const first = Object.keys(fields).find((field) => byField.has(field));
    if (first) fields[first][0].focus();
    return placed;
  }

  // --------------------------------------------------------------------------- log in / out
  let authBusy = false;

  async function authenticate(register) {
    if (authBusy) return;
    authBusy = true;
    const username = els.username.value.trim();
    const password = els.password.value;
    const button = register ? els.register : els.login;
    const label = button.textContent;
    button.textContent = t(register ? "auth.registering" : "auth.loggingIn");
    els.login.disabled = els.register.disabled = true;
    showMessage(els.authError, "");
    showMessage(els.authInfo, "");
    const fields = { username: [els.username, els.usernameError], password: [els.password, els.passwordError] };
    for (const [input, message] of Object.values(fields)) setFieldError(input, message, "");
    try {
      if (register) await call("POST", "auth/register", { body: { username, password }, auth: false });
      const tokens = await call("POST", "auth/login?refresh_cookie=true", {
        body: { username, password },
        auth: false,
      });
      saveSession(tokens, username.toLowerCase());
      els.password.value = "";
      enterApp();
    } catch (error) {
      if (!showFieldErrors(error, fields)) {
        let text = describe(error);
        if (error instanceof ApiError && error.code === "unauthorized") text = t("auth.invalid");
        if (error instanceof ApiError && error.code === "username_taken") text = t("auth.taken");
        showMessage(els.authError, text);
      }
    } finally {
      authBusy = false;
      button.textContent = label;
      els.login.disabled = els.register.disabled = false;
    }
  }

  function logout() {
    // End it on the server too, so its refresh token is useless; leave either way.
    if (session) call("POST", "auth/logout", { retried: true }).catch(() => {});
    endSession(t("auth.loggedOut"), true);
  }

  function endSession(reason, calm = false) {
    generation += 1;
    session = null;
    clearTimeout(refreshTimer);
    localStorage.removeItem(USER_KEY);
    stopAllWatches();
    closeInbox(false);
    els.history.replaceChildren();
    els.inboxList.replaceChildren();
    cards.clear();
    setBadge(0);
    els.account.hidden = true;
    els.appView.hidden = true;
    els.authView.hidden = false;
    showBanner("");
    showMessage(calm ? els.authInfo : els.authError, reason);
    showMessage(calm ? els.authError : els.authInfo, "");
    els.username.focus();
  }

  function enterApp() {
    els.authView.hidden = true;
    els.appView.hidden = false;
    els.account.hidden = false;
    els.who.textContent = t("auth.who", { name: session.username || "" });
    showBanner("");
    historyCursor = null;
    loadHistory(true);
    refreshBadge();
    startBadgePolling();
    els.question.focus();
  }

  // ----------------------------------------------------------------------------- questions
  const cards = new Map(); // question_id -> {item, element, timer}
  let historyCursor = null;
  let historyBusy = false;

  function paragraphsOf(text) {
    return String(text || "")
      .split(/\n\s*\n/)
      .map((block) => block.trim())
      .filter(Boolean);
  }

  // A source as the API gives it: {id, title, url}; numbered as the answer's [n] marks.
  function renderSource(source, index) {
    const title = source.url
      ? node("a", { href: source.url, target: "_blank", rel: "noopener noreferrer" }, source.title)
      : source.title;
    return node("li", { value: index + 1 }, title, " ", node("code", {}, source.id));
  }

  function renderQuestion(item) {
    const status = item.status;
    const final = FINAL.has(status);
    const children = [
      node("p", { className: "question-text" }, item.question),
      node(
        "p",
        { className: "status" },
        node("span", { className: `chip ${status}` }, t(`status.${status}`)),
        node("time", { datetime: item.created_at }, t("question.asked", { time: formatTime(item.created_at) })),
      ),
    ];
    if (status === "answered") {
      const paragraphs = paragraphsOf(item.answer);
      const sources = Array.isArray(item.sources) ? item.sources : [];
      children.push(
        node(
          "div",
          { className: "answer" },
          paragraphs.map((p) => node("p", {}, p)),
          sources.length
            ? node("div", { className: "sources" }, node("h3", {}, t("answer.sources")), node("ol", {}, sources.map(renderSource)))
            : null,
          item.model
            ? node("p", { className: "meta" }, t("question.model", {
                model: item.model,
                duration: formatDuration(item.latency_ms),
              }))
            : null,
        ),
      );
    }
    if (status === "failed" || status === "rejected") {
      const reason = (item.error && (item.error.message || item.error.code)) || t("answer.noReason");
      children.push(
        node("p", { className: "reason" }, t("answer.why", { reason })),
        node("div", { className: "actions" }, node("button", {
          type: "button",
          className: "secondary retry",
          onclick: (event) => retry(item.question, event.currentTarget),
        }, t("answer.retry"))),
      );
    }
    return node("li", {
      className: "question",
      id: `q-${item.question_id}`,
      "data-question-id": item.question_id,
      "data-status": status,
      "aria-busy": final ? "false" : "true",
      tabindex: "-1",
    }, children);
  }

  /** Add or update a question's card; new ones go first or last. */
  function upsert(item, { first = false } = {}) {
    const known = cards.get(item.question_id);
    const element = renderQuestion(item);
    if (known) {
      known.element.replaceWith(element);
      known.element = element;
      known.item = item;
    } else {
      cards.set(item.question_id, { item, element, timer: null, delay: 0 });
      if (first) els.history.prepend(element);
      else els.history.append(element);
    }
    els.historyEmpty.hidden = cards.size > 0;
    if (!FINAL.has(item.status)) watch(item.question_id);
  }

  async function loadHistory(reset = false) {
    if (historyBusy) return;
    historyBusy = true;
    const mine = generation;
    els.historyMore.disabled = true;
    els.historyMore.textContent = t("list.loading");
    try {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (!reset && historyCursor) query.set("cursor", historyCursor);
      const page = await call("GET", `questions?${query}`);
      if (mine !== generation) return;
      for (const item of page.items) upsert(item);
      historyCursor = page.next_cursor || null;
      els.historyMore.hidden = !historyCursor;
      els.historyEmpty.hidden = cards.size > 0;
    } catch (error) {
      if (mine === generation && session) showBanner(describe(error));
    } finally {
      historyBusy = false;
      els.historyMore.disabled = false;
      els.historyMore.textContent = t("list.more");
    }
  }

  function updateCounter() {
    const n = els.question.value.length;
    els.questionCount.textContent = t("ask.counter", { n, max: QUESTION_MAX });
    els.questionCount.setAttribute("aria-label", t("ask.counterLabel", { n, max: QUESTION_MAX }));
    els.questionCount.classList.toggle("near", n > QUESTION_MAX * 0.9);
  }

  let sending = false;

  async function submit(text, button) {
    if (sending) return false;
    sending = true;
    const mine = generation;
    const label = button.textContent;
    els.ask.disabled = true;
    button.disabled = true;
    if (button === els.ask) button.textContent = t("ask.sending");
    setFieldError(els.question, els.questionError, "");
    try {
      const accepted = await call("POST", "questions", { body: { question: text } });
      if (mine !== generation) return false;
      upsert({ ...accepted, question: text.trim() }, { first: true });
      showBanner("");
      return true;
    } catch (error) {
      if (mine !== generation) return false;
      if (!showFieldErrors(error, { question: [els.question, els.questionError] })) {
        setFieldError(els.question, els.questionError, describe(error));
      }
      return false;
    } finally {
      sending = false;
      els.ask.disabled = false;
      button.disabled = false;
      button.textContent = label;
    }
  }

  async function ask(event) {
    event.preventDefault();
    if (await submit(els.question.value, els.ask)) {
      els.question.value = "";
      updateCounter();
      els.question.focus();
    }
  }

  function retry(text, button) {
    els.question.value = text;
    updateCounter();
    submit(text, button).then((sent) => {
      if (sent) {
        els.question.value = "";
        updateCounter();
      }
    });
  }

  // ------------------------------------------------------ following a question to its answer
  const FIRST_POLL_MS = 250;
  const MAX_POLL_MS = 8_000;

  function watch(questionId) {
    const card = cards.get(questionId);
    if (!card || card.timer) return;
    card.delay = FIRST_POLL_MS;
    card.timer = setTimeout(() => poll(questionId, generation), card.delay);
  }

  async function poll(questionId, mine) {
    const card = cards.get(questionId);
    if (!card || mine !== generation || !session) return;
    card.timer = null;
    try {
      const item = await call("GET", `questions/${encodeURIComponent(session.session_id)}/${encodeURIComponent(questionId)}`);
      if (mine !== generation) return;
      if (els.banner.dataset.kind === "polling") showBanner("");
      const before = card.item.status;
      if (item.status !== before) upsert(item);
      if (FINAL.has(item.status)) {
        announce(t("announce.final", { text: shorten(item.question), status: t(`status.${item.status}`) }));
        expectNotification();
        return;
      }
      // Back off while nothing changes; a change means work is moving, so look again soon.
      card.delay = item.status !== before ? FIRST_POLL_MS : Math.min(card.delay * 1.6, MAX_POLL_MS);
    } catch (error) {
      if (mine !== generation) return;
      card.delay = Math.min(Math.max(card.delay, 1000) * 2, MAX_POLL_MS * 2);
      if (error instanceof NetworkError || (error instanceof ApiError && error.status >= 500)) {
        showBanner(t("error.polling", { s: Math.round(card.delay / 1000) }), "polling");
      } else {
        showBanner(describe(error));
        return;
      }
    }
    card.timer = setTimeout(() => poll(questionId, mine), card.delay);
  }

  function stopAllWatches() {
    for (const card of cards.values()) clearTimeout(card.timer);
  }

  const shorten = (text) => (text.length > 60 ? `${text.slice(0, 57)}…` : text);

  // ----------------------------------------------------------------------- notifications
  const BADGE_POLL_MS = 20_000;
  let badgeTimer = null;
  let expectTimer = null;
  let unread = 0;
  let inboxCursor = null;

  function setBadge(count) {
    unread = Math.max(0, count);
    els.badge.textContent = String(unread);
    els.badge.hidden = unread === 0;
    els.bell.setAttribute("aria-label", `${t("inbox.title")}: ${t("inbox.unread", { n: unread })}`);
  }

  async function refreshBadge() {
    if (!session) return unread;
    const mine = generation;
    try {
      const page = await call("GET", "notifications?limit=1");
      if (mine === generation) setBadge(page.unread_count);
    } catch (error) {
      if (mine === generation && !(error instanceof NetworkError)) showBanner(describe(error));
    }
    return unread;
  }

  function startBadgePolling() {
    clearInterval(badgeTimer);
    badgeTimer = setInterval(() => {
      if (session) refreshBadge();
      else clearInterval(badgeTimer);
    }, BADGE_POLL_MS);
  }

  /** A question just became final: its notification follows shortly; look for it a few times. */
  function expectNotification() {
    clearTimeout(expectTimer);
    const before = unread;
    const mine = generation;
    let delay = 300;
    const look = async () => {
      if (mine !== generation) return;
      const now = await refreshBadge();
      if (now > before || delay > 5_000) return;
      delay *= 2;
      expectTimer = setTimeout(look, delay);
    };
    expectTimer = setTimeout(look, delay);
  }

  function renderNotification(item) {
    const card = cards.get(item.question_id);
    const about = card ? shorten(card.item.question) : null;
    const text = TEXT[LANG][`notice.${item.status}`] ? t(`notice.${item.status}`) : item.message;
    return node(
      "li",
      { className: item.read_at ? "read" : "unread", "data-notification-id": item.notification_id },
      card
        ? node("button", {
            type: "button",
            className: "link",
            onclick: () => {
              closeInbox(false);
              card.element.scrollIntoView({ block: "center" });
              card.element.focus();
            },
          }, text)
        : text,
      about ? node("span", { className: "when" }, `“${about}”`) : null,
      node("span", { className: "when" }, formatTime(item.created_at)),
    );
  }

  async function loadInbox(reset) {
    const mine = generation;
    els.inboxMore.disabled = true;
    try {
      const query = new URLSearchParams({ limit: "20" });
      if (!reset && inboxCursor) query.set("cursor", inboxCursor);
      const page = await call("GET", `notifications?${query}`);
      if (mine !== generation) return;
      if (reset) els.inboxList.replaceChildren();
      const rows = new Map(page.items.map((item) => [item.notification_id, renderNotification(item)]));
      els.inboxList.append(...rows.values());
      inboxCursor = page.next_cursor || null;
      els.inboxMore.hidden = !inboxCursor;
      els.inboxEmpty.hidden = els.inboxList.children.length > 0;
      // Opening the list reads what it shows.
      const fresh = page.items.filter((item) => !item.read_at);
      const results = await Promise.allSettled(
        fresh.map((item) => call("POST", `notifications/${encodeURIComponent(item.notification_id)}/read`)),
      );
      if (mine !== generation) return;
      fresh.forEach((item, index) => {
        if (results[index].status === "fulfilled") rows.get(item.notification_id).className = "read";
      });
      const failed = results.find((result) => result.status === "rejected");
      if (failed) showBanner(describe(failed.reason));
      setBadge(page.unread_count - results.filter((r) => r.status === "fulfilled").length);
    } catch (error) {
      if (mine === generation) showBanner(describe(error));
    } finally {
      els.inboxMore.disabled = false;
    }
  }

  function openInbox() {
    els.inbox.hidden = false;
    els.bell.setAttribute("aria-expanded", "true");
    els.inbox.focus();
    loadInbox(true);
  }

  function closeInbox(restoreFocus = true) {
    if (els.inbox.hidden) return;
    els.inbox.hidden = true;
    els.bell.setAttribute("aria-expanded", "false");
    if (restoreFocus) els.bell.focus();
  }

  // ------------------------------------------------------------------------------- wiring
  function start() {
    translatePage();
    updateCounter();
    setBadge(0);
    els.authForm.addEventListener("submit", (event) => {
      event.preventDefault();
      authenticate(false);
    });
    els.register.addEventListener("click", () => authenticate(true));
    els.logout.addEventListener("click", logout);
    els.askForm.addEventListener("submit", ask);
    els.question.addEventListener("input", updateCounter);
    els.question.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) els.askForm.requestSubmit();
    });
    els.historyMore.addEventListener("click", () => loadHistory(false));
    els.bell.addEventListener("click", () => (els.inbox.hidden ? openInbox() : closeInbox()));
    els.inboxClose.addEventListener("click", () => closeInbox());
    els.inboxMore.addEventListener("click", () => loadInbox(false));
    els.bannerClose.addEventListener("click", () => showBanner(""));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !els.inbox.hidden) closeInbox();
    });

    resumeSession().then((resumed) => {
      if (resumed) {
        enterApp();
      } else {
        els.authView.hidden = false;
        els.username.focus();
      }
    });
  }

  start();
})();
