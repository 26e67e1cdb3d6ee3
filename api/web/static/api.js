// The REST API under api/v1 (same origin) and the session: tokens, refresh, resuming, ending.
//
// No token is within a script's reach beyond this module's memory: the refresh token lives in
// an HttpOnly cookie (path /api/v1/auth/refresh), the access token only here. localStorage
// keeps the username, so that a reload or another tab knows there is a session to resume.

import { t } from "./i18n.js";

const API = new URL("api/v1/", document.baseURI);
const USER_KEY = "toro.user";
// Tabs of the same browser share the session (the cookie is the browser's); a logout in one
// ends it in the others.
const channel = "BroadcastChannel" in window ? new BroadcastChannel("toro.session") : null;

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

export class NetworkError extends Error {}

let session = null; // {access_token, session_id, username, expires_at}
let refreshTimer = null;
let refreshing = null;
let generation = 0; // bumped when a session ends: late answers of the old one are dropped
const listeners = { ended: [] };

export const current = () => session;
export const currentGeneration = () => generation;
export const onEnded = (listener) => listeners.ended.push(listener);

export async function call(method, path, { body, auth = true, retried = false } = {}) {
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
    if (await refresh()) return call(method, path, { body, auth, retried: true });
    end(t("auth.expired"));
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
export function describe(error) {
  if (error instanceof NetworkError) return t("error.network");
  if (error instanceof ApiError) {
    if (error.status === 429) return t("error.rate", { s: error.retryAfter || 60 });
    if (error.status >= 500) return t("error.server", { code: error.status });
    const reasons = error.details.map((d) => (d.field ? `${d.field}: ${d.reason}` : d.reason));
    return [error.message, ...reasons].join(" ");
  }
  return t("error.unexpected", { message: error && error.message ? error.message : String(error) });
}

function save(tokens, username) {
  session = {
    access_token: tokens.access_token,
    session_id: tokens.session_id,
    username,
    expires_at: Date.now() + tokens.expires_in * 1000,
  };
  localStorage.setItem(USER_KEY, username);
  scheduleRefresh();
}

function scheduleRefresh(delay) {
  clearTimeout(refreshTimer);
  if (!session) return;
  const lifetime = session.expires_at - Date.now();
  // A minute before expiry (or at 80% of a short lifetime), never in the past.
  const when = delay ?? Math.max(0, lifetime - Math.min(60_000, lifetime * 0.2));
  refreshTimer = setTimeout(() => refresh().catch(() => scheduleRefresh(10_000)), when);
}

/** New tokens for the session; false when the session is over. Network errors propagate. */
function refresh() {
  if (!session) return Promise.resolve(false);
  if (!refreshing) {
    const mine = session;
    refreshing = call("POST", "auth/refresh?refresh_cookie=true", { auth: false })
      .then((tokens) => {
        if (session !== mine) return false;
        save(tokens, mine.username);
        return true;
      })
      .catch((error) => {
        if (error instanceof ApiError && error.status === 401) {
          if (session === mine) end(t("auth.expired"));
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

/** Log in or create the account and log in; the refresh token comes back as the cookie. */
export async function authenticate(username, password, { create = false } = {}) {
  const credentials = { username, password };
  if (create) await call("POST", "auth/register", { body: credentials, auth: false });
  const tokens = await call("POST", "auth/login?refresh_cookie=true", { body: credentials, auth: false });
  save(tokens, username.toLowerCase()); // usernames are case-insensitive, stored lower case
}

/** After a reload or in a new tab: an access token from the refresh cookie, if there is one.
 *  Resolves to true (resumed), false (no session), or throws what went wrong. */
export async function resume() {
  const username = localStorage.getItem(USER_KEY);
  if (!username) return false;
  try {
    save(await call("POST", "auth/refresh?refresh_cookie=true", { auth: false }), username);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      localStorage.removeItem(USER_KEY);
      error.expired = true;
    }
    throw error;
  }
}

/** End the session here (and on the server when ``logout``), telling the other tabs. */
export function end(reason, { logout = false, calm = false, broadcast = true } = {}) {
  if (logout && session) call("POST", "auth/logout", { retried: true }).catch(() => {});
  generation += 1;
  session = null;
  clearTimeout(refreshTimer);
  localStorage.removeItem(USER_KEY);
  if (broadcast && channel) channel.postMessage({ type: "ended" });
  for (const listener of listeners.ended) listener(reason, calm);
}

if (channel) {
  channel.addEventListener("message", (event) => {
    if (event.data && event.data.type === "ended" && session) {
      end(t("auth.loggedOut"), { calm: true, broadcast: false });
    }
  });
}
