// One workflow run: its layers as a timeline, steps, log (new lines as they are logged),
// results, and what a person may do with it (approve improvements, cancel).

import { del, get, post } from "../api.js";
import { badge, confirmButton, batched, fill, h, messageOf, notice, progressBar, seconds, svg, table, time } from "../dom.js";
import { resultsView } from "../results.js";

const LEVELS = ["debug", "info", "warning", "error"];

export async function render(ctx, workflowId) {
  const id = encodeURIComponent(workflowId);
  const level = LEVELS.includes(ctx.search.get("level")) ? ctx.search.get("level") : "";
  const header = h("div", { class: "panel", id: "workflow-header" });
  const timeline = h("div", { class: "panel timeline", id: "workflow-timeline" });
  const steps = h("div", { class: "panel", id: "workflow-steps" });
  const logRows = h("tbody", { id: "workflow-log" });
  const results = h("div", { class: "panel", id: "workflow-results" });
  const approval = h("div", { id: "workflow-approval" });
  const levelSelect = h("select", { id: "log-level" }, h("option", { value: "" }, "all levels"), LEVELS.map((l) => h("option", { value: l }, l)));
  levelSelect.value = level;
  levelSelect.addEventListener("change", () => ctx.go(`#/workflows/${workflowId}${levelSelect.value ? `?level=${levelSelect.value}` : ""}`));
  fill(
    ctx.root,
    h("p", {}, h("a", { href: "#/workflows" }, "← Workflows")),
    h("h1", { class: "mono" }, workflowId),
    header,
    timeline,
    steps,
    h("div", { class: "panel" }, h("h2", {}, "Log ", levelSelect), h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Level", "Layer", "Message"].map((t) => h("th", {}, t)))), logRows))),
    results,
    approval,
  );

  let status = null;
  let logs = [];
  async function loadStatus() {
    status = await get(`/workflows/${id}`, {}, { signal: ctx.signal });
    drawHeader();
    drawTimeline(timeline, status, logs);
    drawSteps();
    fill(results, h("h2", {}, status.status === "completed" ? "Results" : "Outputs so far"), status.results ? resultsView(status.results) : h("p", { class: "muted" }, "None yet."));
    if (status.workflow_type === "self-improver" && status.status === "completed" && ctx.can("write")) await drawApproval();
  }

  function drawHeader() {
    fill(
      header,
      h("p", {}, status.workflow_type, " · ", badge(status.status), status.current_layer ? ` · now: ${status.current_layer}` : ""),
      progressBar(status.progress, { id: "workflow-progress", class: "wide" }),
      h("p", { class: "muted" }, `started ${time(status.started_at)}`, status.completed_at ? ` · ended ${time(status.completed_at)} (${seconds(status.duration_s)})` : "", status.ai_providers_used.length ? ` · AI: ${status.ai_providers_used.join(", ")}` : ""),
      status.error ? notice("bad", typeof status.error === "string" ? status.error : JSON.stringify(status.error)) : null,
      status.status === "running" && ctx.can("write")
        ? confirmButton("Cancel workflow", "Really cancel?", async () => {
            try {
              await del(`/workflows/${id}`);
            } catch (error) {
              header.append(notice("bad", messageOf(error)));
            }
          })
        : null,
    );
  }

  function drawSteps() {
    fill(
      steps,
      h("h2", {}, "Steps"),
      table(
        [
          { title: "Step", cell: (s) => s.name },
          { title: "Status", cell: (s) => badge(s.status) },
          { title: "Attempts", class: "num", cell: (s) => String(s.attempts ?? "—") },
          { title: "Took", class: "num", cell: (s) => (s.duration_ms === undefined ? "—" : seconds(s.duration_ms / 1000)) },
        ],
        Object.entries(status.steps || {}).map(([name, s]) => ({ name, ...s })),
      ),
    );
  }

  async function drawApproval() {
    const found = await get(`/workflows/self-improver/${id}/results`, {}, { signal: ctx.signal });
    const open = (found.improvements || []).filter((i) => i.verified && !i.applied);
    if (found.approval) {
      fill(approval, h("div", { class: "panel" }, h("h2", {}, "Approved"), h("pre", {}, JSON.stringify(found.approval, null, 2))));
      return;
    }
    if (!open.length) return fill(approval);
    const boxes = open.map((i) => h("input", { type: "checkbox", value: i.id, checked: true }));
    const out = h("div");
    const approve = h("button", { type: "button", class: "primary", id: "approve" }, "Apply the chosen improvements");
    approve.addEventListener("click", async () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) return fill(out, notice("warn", "Choose at least one."));
      approve.disabled = true;
      try {
        const answer = await post(`/workflows/${id}/approve`, { improvements: chosen });
        fill(out, notice("ok", `Applied ${chosen.join(", ")}`), h("pre", {}, JSON.stringify(answer.approval, null, 2)));
      } catch (error) {
        fill(out, notice("bad", messageOf(error)));
      } finally {
        approve.disabled = false;
      }
    });
    fill(
      approval,
      h(
        "div",
        { class: "panel" },
        h("h2", {}, "Approve verified improvements"),
        h("ul", {}, open.map((i, n) => h("li", {}, h("label", { class: "inline" }, boxes[n], ` ${i.id} `, h("span", { class: "mono" }, `${i.file}:${i.line}`), ` ${i.description}`)))),
        approve,
        out,
      ),
    );
  }

  async function loadLogs() {
    logs = (await get(`/workflows/${id}/logs`, { limit: 1000 }, { signal: ctx.signal })).logs;
    fill(logRows, logs.filter((l) => !level || l.level === level).map(logRow));
  }

  // The log's lines are made from the run's events (steps starting, ending, failing, and
  // the lines a step logs): each event of this run reads the run and its log again. The
  // run's read model may trail the feed by a moment: after its last event, read it again
  // (a few times, bounded) until it has the end too.
  const ENDS = ["workflow.completed", "workflow.failed", "workflow.cancelled"];
  let ended = false;
  let catchUp = 0;
  async function refresh() {
    await loadLogs();
    await loadStatus();
    if (ended && status.status === "running" && catchUp++ < 20) setTimeout(() => refresh().catch(() => {}), 100 * catchUp);
  }
  const reload = batched(refresh, 200);
  ctx.on(["workflow.*"], (event) => {
    if (event.data.workflow_id !== workflowId) return;
    ended = ended || ENDS.includes(event.type);
    reload();
  });
  await refresh();
}

function logRow(entry) {
  return h(
    "tr",
    { class: `log-level-${entry.level}` },
    h("td", {}, time(entry.timestamp)),
    h("td", {}, entry.level),
    h("td", {}, entry.layer || ""),
    h("td", {}, entry.message),
  );
}

/** The layers as bars on one time axis: each from its first log line to its last. */
function drawTimeline(el, status, logs) {
  if (!status) return;
  const layers = Object.entries(status.layers || {});
  const start = Date.parse(status.started_at);
  const end = status.completed_at ? Date.parse(status.completed_at) : Date.now();
  const span = Math.max(end - start, 1);
  const W = 720;
  const LABEL = 220;
  const ROW = 26;
  const box = svg("svg", { viewBox: `0 0 ${W} ${layers.length * ROW + 24}`, role: "img", "aria-label": "layers over time" });
  const x = (t) => LABEL + ((t - start) / span) * (W - LABEL - 10);
  layers.forEach(([key, state], n) => {
    const name = key.replace(/^layer\d+_/, "");
    const times = logs.filter((l) => l.layer === name).map((l) => Date.parse(l.timestamp));
    const y = n * ROW + 4;
    box.append(svg("text", { x: 0, y: y + 14 }, key));
    if (!times.length) return;
    const from = Math.min(...times);
    const to = state === "running" ? end : Math.max(...times);
    const bar = svg("rect", { x: x(from), y, width: Math.max(3, x(to) - x(from)), height: ROW - 8, rx: 3, class: `bar ${state}` });
    bar.dataset.layer = key;
    bar.append(svg("title", {}, `${key}: ${state}, ${seconds((to - from) / 1000)}`));
    box.append(bar);
  });
  const bottom = layers.length * ROW + 18;
  box.append(
    svg("text", { x: LABEL, y: bottom, class: "tick" }, time(status.started_at)),
    svg("text", { x: W - 10, y: bottom, class: "tick", "text-anchor": "end" }, `+${seconds(span / 1000)}`),
  );
  fill(el, h("h2", {}, "Layers"), box, h("p", {}, layers.map(([key, state]) => h("span", {}, `${key} `, badge(state), " "))));
}
