// Building the page: elements from data, never HTML from strings.
//
// Everything the node returns (task results, banners, scanned pages, log lines) may be
// hostile. It reaches the page only as text nodes and attribute values set here, so it
// is never parsed as HTML: no string of the console ever becomes markup.

/** An element: h("td", {class: "num", title: "…", on: {click: fn}}, child, …).
 * Children may be nodes, strings or numbers (as text), arrays, or null (skipped). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "on") for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value" || name === "checked" || name === "disabled" || name === "hidden") el[name] = value;
    else if (name.startsWith("on")) throw new Error(`no inline handlers: ${name}`);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** An SVG element, with attributes (no children of text unless given). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what `el` holds with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: columns are {title, cell(row) -> node|text, class?}. */
export function table(columns, rows, { empty = "Nothing yet.", rowProps } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.class }, c.title)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", rowProps ? rowProps(row) : {}, columns.map((c) => h("td", { class: c.class }, c.cell(row)))),
        ),
      ),
    ),
  );
}

const TONES = {
  ok: ["completed", "active", "healthy", "pass", "closed", "delivered", "running", "in_progress", "ok", "enabled", "working"],
  warn: ["queued", "pending", "degraded", "rate_limited", "half_open", "retrying", "skipped", "abandoned", "expired", "warning"],
  bad: ["failed", "error", "unhealthy", "open", "revoked", "quota_exhausted", "fail", "disabled", "cancelled"],
  info: ["unconfigured", "triggered", "idle"],
};

/** A status as a coloured badge. */
export function badge(status) {
  const text = status === null || status === undefined ? "—" : String(status);
  const tone = Object.keys(TONES).find((t) => TONES[t].includes(text)) || "";
  return h("span", { class: `badge ${tone}`, dataset: { status: text } }, text);
}

/** Figures as cards: [[label, value (a node, or text), id?], …]. */
export function cards(figures, className = "cards") {
  return h(
    "div",
    { class: className },
    figures.map(([label, value, id]) => h("div", { class: "card", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value instanceof Node ? value : String(value)))),
  );
}

/** A progress bar with its percentage beside it. */
export function progressBar(value, props = {}) {
  const pct = Math.max(0, Math.min(100, Number(value) || 0));
  return h("span", {}, h("progress", { max: 100, value: pct, ...props }), " ", h("span", { class: "pct" }, `${pct}%`));
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function seconds(s) {
  if (s === null || s === undefined) return "—";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${Number(s).toFixed(1)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)}%`;
}

/** A short one-line JSON of `value`, for a table cell. */
export function short(value, max = 120) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `fn` (async), run once `ms` after the first of a burst of calls, however long the
 * burst, and never twice at once: a view reads its resource again at most once per `ms`
 * while its events keep coming (a debounce would wait for a pause that a busy node never
 * makes). A failed read is left for the next event to repeat. */
export function batched(fn, ms) {
  let timer = null;
  let running = false;
  let again = false;
  const schedule = () => {
    if (timer === null) timer = setTimeout(run, ms);
  };
  async function run() {
    timer = null;
    running = true;
    try {
      await fn();
    } catch {
      // the next event reads again
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }
  return () => {
    if (running) again = true;
    else schedule();
  };
}

/** A notice: kind is ok, bad or warn. */
export function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, ...children);
}

/** The message of an error for a person (an API error's message, or the error's). */
export function messageOf(error) {
  return error && error.message ? error.message : String(error);
}

/** A button that asks again before it acts: the first click arms it, the second acts. */
export function confirmButton(label, confirmLabel, action, props = {}) {
  const button = h("button", { type: "button", class: "danger", ...props }, label);
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      setTimeout(() => {
        armed = false;
        if (button.isConnected) button.textContent = label;
      }, 4000);
      return;
    }
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
      button.textContent = label;
      armed = false;
    }
  });
  return button;
}

/** A row of tabs over panes: [{label, render() -> node}]. */
export function tabs(items) {
  const pane = h("div", { class: "tab-pane" });
  const buttons = items.map((item, n) =>
    h("button", { type: "button", role: "tab", dataset: { tab: item.label }, on: { click: () => show(n) } }, item.label),
  );
  function show(n) {
    buttons.forEach((b, i) => b.setAttribute("aria-selected", String(i === n)));
    fill(pane, items[n].render());
  }
  const el = h("div", {}, h("div", { class: "tabs", role: "tablist" }, buttons), pane);
  if (items.length) show(0);
  return el;
}
