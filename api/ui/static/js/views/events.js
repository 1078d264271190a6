// The event log (admin): its tail, then each event as it is committed; and a check of
// the hash chain.

import { get } from "../api.js";
import { fill, h, notice, short, time } from "../dom.js";

const TAIL = 50;
const KEEP = 500;

export async function render(ctx) {
  if (!ctx.can("admin")) {
    fill(ctx.root, h("h1", {}, "Event log"), notice("warn", "The event log is for keys with the admin scope."));
    return;
  }
  const filter = h("input", { type: "text", id: "event-filter", placeholder: "type, e.g. task.* (empty: all)", value: ctx.search.get("type") || "" });
  const verifyOut = h("div", { id: "verify-result" });
  const verify = h("button", { type: "button", id: "verify" }, "Verify the hash chain");
  const rows = h("tbody", { id: "event-rows" });
  const count = h("span", { class: "muted", id: "event-count" });
  fill(
    ctx.root,
    h("h1", {}, "Event log"),
    h(
      "div",
      { class: "panel row" },
      h("div", { class: "field" }, h("label", { for: "event-filter" }, "Show"), filter),
      h("div", { class: "field" }, verify),
      count,
    ),
    verifyOut,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { id: "event-log" }, h("thead", {}, h("tr", {}, ["Position", "Committed", "Type", "Stream", "Data"].map((t) => h("th", {}, t)))), rows),
    ),
  );
  filter.addEventListener("change", () => ctx.go(`#/events?${new URLSearchParams(filter.value ? { type: filter.value } : {})}`));
  verify.addEventListener("click", async () => {
    verify.disabled = true;
    fill(verifyOut, notice("warn", "Walking the hash chain…"));
    try {
      const r = await get("/events/verify", {}, { signal: ctx.signal });
      fill(
        verifyOut,
        r.ok
          ? notice("ok", `ok: ${r.events} events, hash chain intact (head ${r.head})`)
          : notice("bad", `broken at position ${r.first_bad_position}: ${r.reason} (${r.events} events check out)`),
      );
    } finally {
      verify.disabled = false;
    }
  });

  const type = ctx.search.get("type") || "";
  const wanted = type ? [type] : ["*"];
  const add = (event) => {
    rows.prepend(row(event));
    while (rows.childElementCount > KEEP) rows.lastElementChild.remove();
    fill(count, `${rows.childElementCount} shown`);
  };
  // Events committed while the tail is read are held, then added after it.
  const held = [];
  let tailRead = false;
  ctx.on(wanted, (event) => (tailRead ? add(event) : held.push(event)));
  const info = await get("/system/info", {}, { signal: ctx.signal });
  const head = info.event_log.head;
  const page = await get("/events", { from_position: Math.max(1, head - TAIL * 20 + 1), type: type || undefined, limit: 1000 }, { signal: ctx.signal });
  const last = page.events.slice(-TAIL);
  for (const event of last) add(event);
  const seen = last.length ? last[last.length - 1].position : 0;
  for (const event of held) if (event.position > seen) add(event);
  tailRead = true;
}

function row(event) {
  return h(
    "tr",
    { dataset: { position: event.position, type: event.type } },
    h("td", { class: "num" }, String(event.position)),
    h("td", {}, time(event.ts)),
    h("td", { class: "mono" }, event.type),
    h("td", { class: "mono" }, event.stream),
    h("td", {}, h("details", {}, h("summary", { class: "mono" }, short(event.data, 100)), h("pre", {}, JSON.stringify(event, null, 2)))),
  );
}
