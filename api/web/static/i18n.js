// The page's words, both languages side by side: a key cannot exist in one and not the other.
// [English, Portuguese]; {name} is filled in by t().

const CATALOGUE = {
  "app.title": ["Toro Assistant", "Toro Assistant"],
  "app.tagline": ["Ask about investing; the answer arrives here.", "Pergunte sobre investimentos; a resposta chega aqui."],
  "account.label": ["Account", "Conta"],
  "auth.loginHeading": ["Log in", "Entrar"],
  "auth.signupHeading": ["Create an account", "Criar uma conta"],
  "auth.username": ["Username", "Nome de usuário"],
  "auth.usernameHint": ["3 to 32 letters, digits, _ . or -", "De 3 a 32 letras, algarismos, _ . ou -"],
  "auth.password": ["Password", "Senha"],
  "auth.passwordHint": ["At least 8 characters", "Pelo menos 8 caracteres"],
  "auth.newPasswordHint": ["At least 8 characters, not easy to guess", "Pelo menos 8 caracteres, difícil de adivinhar"],
  "auth.login": ["Log in", "Entrar"],
  "auth.register": ["Create account", "Criar conta"],
  "auth.toSignup": ["New here? Create an account", "Primeira vez? Crie uma conta"],
  "auth.toLogin": ["Have an account? Log in", "Já tem conta? Entre"],
  "auth.logout": ["Log out", "Sair"],
  "auth.loggingIn": ["Logging in…", "Entrando…"],
  "auth.registering": ["Creating your account…", "Criando sua conta…"],
  "auth.who": ["Signed in as {name}", "Conectado como {name}"],
  "auth.invalid": ["Wrong username or password.", "Usuário ou senha incorretos."],
  "auth.taken": ["That username is taken; choose another.", "Esse nome de usuário já existe; escolha outro."],
  "auth.expired": ["Your session has ended. Please log in again.", "Sua sessão terminou. Entre de novo."],
  "auth.loggedOut": ["You have logged out.", "Você saiu."],
  "banner.close": ["Dismiss", "Fechar"],
  "conversations.heading": ["Conversations", "Conversas"],
  "conversations.toggle": ["Conversations", "Conversas"],
  "conversations.new": ["New conversation", "Nova conversa"],
  "conversations.untitled": ["New conversation", "Nova conversa"],
  "conversations.count.one": ["1 question · {time}", "1 pergunta · {time}"],
  "conversations.count.other": ["{n} questions · {time}", "{n} perguntas · {time}"],
  "conversations.close": ["Close", "Fechar"],
  "thread.earlier": ["Load earlier questions", "Carregar perguntas anteriores"],
  "thread.empty": ["Ask your first question below.", "Faça sua primeira pergunta abaixo."],
  "ask.heading": ["Ask a question", "Faça uma pergunta"],
  "ask.label": ["Your question", "Sua pergunta"],
  "ask.placeholder": ["e.g. What is the Tesouro Selic?", "Ex.: O que é o Tesouro Selic?"],
  "ask.counter": ["{n} / {max}", "{n} / {max}"],
  "ask.counterLabel": ["{n} of {max} characters", "{n} de {max} caracteres"],
  "ask.submit": ["Ask", "Perguntar"],
  "ask.sending": ["Sending…", "Enviando…"],
  "ask.shortcut": ["Enter sends; Shift+Enter adds a line", "Enter envia; Shift+Enter muda de linha"],
  "list.more": ["Load more", "Carregar mais"],
  "list.loading": ["Loading…", "Carregando…"],
  "status.pending": ["Waiting", "Aguardando"],
  "status.processing": ["Being answered", "Sendo respondida"],
  "status.answered": ["Answered", "Respondida"],
  "status.failed": ["Failed", "Falhou"],
  "status.rejected": ["Not accepted", "Não aceita"],
  "question.asked": ["Asked {time}", "Enviada {time}"],
  "answer.sources": ["Sources", "Fontes"],
  "answer.cite": ["Source {n}: {title}", "Fonte {n}: {title}"],
  "answer.why": ["Why: {reason}", "Motivo: {reason}"],
  "answer.noReason": ["No reason was given.", "Nenhum motivo foi informado."],
  "answer.retry": ["Try again", "Tentar de novo"],
  "answer.copy": ["Copy", "Copiar"],
  "answer.copied": ["Copied", "Copiado"],
  "answer.copyFailed": ["Could not copy", "Não foi possível copiar"],
  "answer.good": ["Good answer", "Boa resposta"],
  "answer.bad": ["Bad answer", "Resposta ruim"],
  "answer.commentLabel": ["What was good or wrong? (optional)", "O que estava bom ou errado? (opcional)"],
  "answer.commentSend": ["Send", "Enviar"],
  "answer.commentSkip": ["No comment", "Sem comentário"],
  "answer.thanks": ["Thank you for your feedback.", "Obrigado pela sua avaliação."],
  "answer.details": ["Details", "Detalhes"],
  "answer.detailsText": ["Model {model}, {duration}; knowledge base {kb}", "Modelo {model}, {duration}; base de conhecimento {kb}"],
  "answer.fromCache": ["Reused from an earlier identical question.", "Reaproveitada de uma pergunta idêntica anterior."],
  "entry.reviewed": ["Last reviewed {date}", "Revisado em {date}"],
  "entry.link": ["Read more on the official site", "Saiba mais no site oficial"],
  "entry.close": ["Close", "Fechar"],
  "announce.final": ["Your question “{text}”: {status}.", "Sua pergunta “{text}”: {status}."],
  "inbox.title": ["Notifications", "Notificações"],
  "inbox.unread": ["{n} unread", "{n} não lidas"],
  "inbox.close": ["Close", "Fechar"],
  "inbox.empty": ["No notifications yet.", "Nenhuma notificação ainda."],
  "notice.answered": ["Your question has been answered.", "Sua pergunta foi respondida."],
  "notice.failed": ["We could not answer your question.", "Não conseguimos responder sua pergunta."],
  "notice.rejected": ["Your question was not accepted.", "Sua pergunta não foi aceita."],
  "error.network": ["Could not reach the service. Check your connection and try again.", "Não foi possível falar com o serviço. Verifique sua conexão e tente de novo."],
  "error.polling": ["Could not reach the service; trying again in {s} s.", "Não foi possível falar com o serviço; nova tentativa em {s} s."],
  "error.server": ["The service is having trouble right now ({code}). Please try again shortly.", "O serviço está com problemas agora ({code}). Tente de novo em instantes."],
  "error.rate": ["You are asking too fast. Please wait {s} seconds and try again.", "Você está perguntando rápido demais. Espere {s} segundos e tente de novo."],
  "error.unexpected": ["Something went wrong: {message}", "Algo deu errado: {message}"],
};

const LANGUAGES = ["en", "pt"];

/** The browser's first language the page speaks: Portuguese or English. */
export const LANG = (() => {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
})();

export const LOCALE = LANG === "pt" ? "pt-BR" : "en";

/** Every key with its text in each language (for the page's tests: nothing may be missing). */
export function catalogue() {
  return Object.fromEntries(
    Object.entries(CATALOGUE).map(([key, texts]) => [key, Object.fromEntries(LANGUAGES.map((l, i) => [l, texts[i]]))]),
  );
}

export function has(key) {
  return key in CATALOGUE;
}

export function t(key, values = {}) {
  const texts = CATALOGUE[key];
  const template = texts ? texts[LANGUAGES.indexOf(LANG)] : key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** Fill the page's static text: data-i18n (text), -placeholder and -aria-label. */
export function translatePage(root = document) {
  document.documentElement.lang = LOCALE;
  document.title = t("app.title");
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
}

const dateTime = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(LOCALE, { dateStyle: "long", timeZone: "UTC" });
const seconds = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 });

export const formatTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "");
export const formatDate = (iso) => (iso ? dateOnly.format(new Date(`${iso}T00:00:00Z`)) : "");
export const formatDuration = (ms) => (ms >= 1000 ? `${seconds.format(ms / 1000)} s` : `${Math.max(0, ms || 0)} ms`);

const plurals = new Intl.PluralRules(LOCALE);

/** ``key.one`` or ``key.other``, as the language counts ``n``. */
export const tn = (key, n, values = {}) => t(`${key}.${plurals.select(n) === "one" ? "one" : "other"}`, { n, ...values });
