// Small helpers for building the page and telling the person what happened.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (on* are listeners; false/null/undefined skipped) and children
 *  (strings become text nodes: text from the API is never parsed as HTML). */
export function node(tag, attributes = {}, ...children) {
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

export function showMessage(element, text) {
  element.textContent = text || "";
  element.hidden = !text;
}

/** The page-wide message; ``kind`` lets a later success clear only its own kind. */
export function showBanner(text, kind = "") {
  const banner = $("banner");
  showMessage($("banner-text"), text);
  banner.hidden = !text;
  banner.dataset.kind = text ? kind : "";
}

export const bannerKind = () => $("banner").dataset.kind || "";

let lastAnnouncement = "";

/** Say ``text`` through the polite live region, once (the same words twice in a row are not
 *  repeated: a screen reader would read them again). */
export function announce(text) {
  if (text === lastAnnouncement) return;
  lastAnnouncement = text;
  const region = $("announcer");
  region.textContent = "";
  // A change after a tick is what screen readers announce.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

export function setFieldError(input, message, text) {
  showMessage(message, text);
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export const shorten = (text) => (text.length > 60 ? `${text.slice(0, 57)}…` : text);

/** The API's validation details next to their fields; true when each found its field.
 *  ``fields``: {name: [input, message element]}. */
export function showFieldErrors(error, fields) {
  if (!(error && error.status === 422 && Array.isArray(error.details) && error.details.length)) return false;
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
