// A task's or workflow's results for a person: findings as tables, a report as a page,
// and the raw JSON. Results quote scanned pages, banners and files: attacker-controlled
// text, shown here only as text (a report's HTML is rebuilt from an allow-list of tags,
// with no attribute kept).

import { h, short, table, tabs } from "./dom.js";

const FINDING_LISTS = new Set(["findings", "threats", "vulnerabilities", "informational", "improvements"]);
const COLUMN_ORDER = [
  "id", "severity", "confidence", "rule_id", "rule", "type", "kind", "category", "component",
  "target", "file", "line", "where", "description", "message", "title", "remediation",
  "suggestion", "evidence", "cwe", "applied", "verified",
];
const MAX_DEPTH = 4;

/** Tabs over `results`: Findings (when any), Report (a report task's), Raw JSON. */
export function resultsView(results) {
  const items = [];
  const lists = findingLists(results);
  if (lists.length) {
    items.push({
      label: "Findings",
      render: () => h("div", {}, lists.map(({ path, rows }) => h("section", {}, h("h3", {}, `${path} (${rows.length})`), findingsTable(rows)))),
    });
  }
  const report = reportOf(results);
  if (report) items.push({ label: "Report", render: () => report });
  items.push({ label: "Raw JSON", render: () => h("pre", { class: "raw-json" }, JSON.stringify(results, null, 2)) });
  return tabs(items);
}

/** Every list of findings in `value` (by key name, however deep, up to a limit). */
export function findingLists(value, path = "results", depth = 0, found = []) {
  if (!value || typeof value !== "object" || depth > MAX_DEPTH) return found;
  for (const [key, inner] of Object.entries(value)) {
    const here = `${path}.${key}`;
    if (FINDING_LISTS.has(key) && Array.isArray(inner) && inner.length && inner.every(isRecord)) {
      found.push({ path: here, rows: inner });
    } else if (isRecord(inner)) {
      findingLists(inner, here, depth + 1, found);
    }
  }
  return found;
}

export function findingsTable(rows) {
  const keys = new Set();
  for (const row of rows) for (const [k, v] of Object.entries(row)) if (v !== null && v !== undefined && v !== "") keys.add(k);
  const ordered = [...COLUMN_ORDER.filter((k) => keys.has(k)), ...[...keys].filter((k) => !COLUMN_ORDER.includes(k)).sort()];
  const columns = ordered.map((key) => ({
    title: key,
    cell: (row) => cell(key, row[key]),
  }));
  const el = table(columns, rows);
  el.classList.add("findings");
  return el;
}

function cell(key, value) {
  if (value === null || value === undefined) return "";
  if (key === "severity") return h("span", { class: `badge ${severityTone(value)}` }, String(value));
  if (typeof value === "object") return h("code", {}, short(value, 200));
  return String(value);
}

function severityTone(severity) {
  return { critical: "bad", high: "bad", medium: "warn", low: "info" }[String(severity).toLowerCase()] || "";
}

function isRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A report task's content as a node: HTML rebuilt safely, Markdown as text; else null. */
function reportOf(results) {
  if (!isRecord(results) || typeof results.content !== "string") return null;
  if (results.format === "html") return h("div", { class: "report" }, sanitized(results.content));
  if (results.format === "markdown") return h("pre", { class: "report-markdown" }, results.content);
  return null;
}

const KEEP = new Set([
  "h1", "h2", "h3", "h4", "h5", "h6", "p", "strong", "em", "b", "i", "code", "pre", "table", "thead",
  "tbody", "tr", "th", "td", "dl", "dt", "dd", "ul", "ol", "li", "section", "br", "blockquote",
]);
const DROP = new Set(["script", "style", "x-style", "template", "iframe", "object", "embed", "noscript", "head", "title", "svg", "math"]);

/** The HTML `html` as a fragment of new elements: only the tags in KEEP, none of their
 * attributes (no links, images, styles or handlers); other tags give their text. The
 * parsed document is inert: DOMParser runs no script and loads nothing. */
export function sanitized(html) {
  // A <style> element, even in an inert document, is checked against the console's CSP
  // (and refused, noisily): renamed, it parses as an unknown element, dropped below.
  const parsed = new DOMParser().parseFromString(html.replace(/<(\/?)style\b/gi, "<$1x-style"), "text/html");
  const out = document.createDocumentFragment();
  copy(parsed.body, out);
  return out;
}

function copy(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.append(document.createTextNode(node.nodeValue));
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      const tag = node.localName;
      if (DROP.has(tag)) continue;
      if (KEEP.has(tag)) {
        const el = document.createElement(tag);
        copy(node, el);
        to.append(el);
      } else {
        copy(node, to);
      }
    }
  }
}
