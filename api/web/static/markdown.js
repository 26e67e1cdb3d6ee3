// An answer's markdown as safe DOM: marked parses it, DOMPurify keeps only plain formatting.
//
// Model output is untrusted. Raw HTML in it is shown as text (never parsed), and what marked
// produces goes through DOMPurify with a short allow-list: no scripts, no event handlers, no
// images or media (nothing loads from elsewhere), links only to http(s) and mailto, opened in a
// new tab without a referrer. The page's CSP (script-src 'self') is a second wall behind it.

import DOMPurify from "./vendor/dompurify/purify.es.js";
import { Marked } from "./vendor/marked/marked.esm.js";

const escapeHtml = (text) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // A block or inline of raw HTML is text to show, not markup.
    html: (token) => escapeHtml(token.raw ?? token.text ?? ""),
  },
});

const ALLOWED_TAGS = [
  "p", "br", "strong", "em", "b", "i", "del", "s", "ul", "ol", "li", "blockquote", "hr",
  "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
  "code", "pre", "a",
];
const purifier = DOMPurify(window);
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

/** A fragment of sanitized elements for ``text``. */
export function renderMarkdown(text) {
  const html = marked.parse(String(text || ""));
  const fragment = purifier.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ["href", "title", "align", "start"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  // Wide tables scroll inside their own box, never the page.
  for (const table of fragment.querySelectorAll("table")) {
    const box = document.createElement("div");
    box.className = "table-box";
    box.tabIndex = 0;
    table.replaceWith(box);
    box.append(table);
  }
  return fragment;
}

/**
 * Replace the ``[n]`` marks in the text of ``root`` (not in code) with what ``link(n)`` makes,
 * for n from 1 to ``count``; other numbers stay as they are.
 */
export function linkCitations(root, count, link) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentElement && node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  for (const node of texts) {
    const parts = node.nodeValue.split(/(\[\d+\])/);
    if (parts.length === 1) continue;
    const replacement = parts.map((part) => {
      const mark = /^\[(\d+)\]$/.exec(part);
      const n = mark ? Number(mark[1]) : 0;
      return n >= 1 && n <= count ? link(n) : document.createTextNode(part);
    });
    node.replaceWith(...replacement);
  }
}
