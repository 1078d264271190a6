// Metrics: the node now (GET /metrics) and charts of GET /metrics/history.
//
// Task figures change when tasks end: the charts are read again when the live feed says
// one did. The host's figures (CPU, memory, disk) are samples, not events: they are
// read again when the current bucket is complete (every interval_seconds).

import { get } from "../api.js";
import { cards, batched, fill, h, seconds } from "../dom.js";
import { lineChart } from "../chart.js";

const PERIODS = ["1h", "6h", "24h", "7d", "30d"];
const METRICS = [
  ["throughput", "Throughput"],
  ["response_time", "Response time"],
  ["success_rate", "Success rate"],
  ["queue_depth", "Queue depth"],
  ["cpu_usage", "CPU"],
  ["memory_usage", "Memory"],
  ["disk_usage", "Disk"],
];

export async function render(ctx) {
  const period = PERIODS.includes(ctx.search.get("period")) ? ctx.search.get("period") : "1h";
  const agentId = ctx.search.get("agent_id") || "";
  const { agents } = await get("/agents", {}, { signal: ctx.signal });
  const choose = (name, values, current, label) => {
    const select = h("select", { name, id: `metrics-${name}` }, values.map(([v, text]) => h("option", { value: v }, text)));
    select.value = current;
    select.addEventListener("change", () => {
      const next = new URLSearchParams(ctx.search);
      next.set(name, select.value);
      ctx.go(`#/metrics?${next}`);
    });
    return h("div", { class: "field" }, h("label", { for: select.id }, label), select);
  };
  const now = h("div", { id: "metrics-now" });
  const charts = h("div", { class: "grid", id: "metrics-charts" });
  fill(
    ctx.root,
    h("h1", {}, "Metrics"),
    h(
      "div",
      { class: "row" },
      choose("period", PERIODS.map((p) => [p, p]), period, "Period"),
      choose("agent_id", [["", "all agents"], ...agents.map((a) => [a.id, a.id])], agentId, "Agent"),
    ),
    now,
    charts,
  );

  let timer = null;
  async function load() {
    const [current, ...histories] = await Promise.all([
      get("/metrics", {}, { signal: ctx.signal }),
      ...METRICS.map(([metric]) => get("/metrics/history", { period, metric, agent_id: agentId }, { signal: ctx.signal })),
    ]);
    fill(now, nowCards(current));
    fill(charts, histories.map((history, n) => lineChart(history.data_points, { title: METRICS[n][1], unit: history.unit })));
    charts.dataset.loaded = String(Date.now());
    // The next bucket's host samples: read again once it is complete.
    clearTimeout(timer);
    const step = histories[0].interval_seconds * 1000;
    if (!ctx.signal.aborted) timer = setTimeout(() => load().catch(() => {}), step - (Date.now() % step) + 1000);
  }
  ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  await load();
  ctx.on(["task.completed", "task.failed", "task.cancelled", "task.created"], batched(load, 1500));
}

function nowCards(m) {
  const p = m.performance;
  const s = m.system;
  return cards([
    ["Active tasks", p.active_tasks],
    ["Queued tasks", p.queued_tasks],
    ["Completed (1 h)", p.completed_tasks_1h],
    ["Failed (1 h)", p.failed_tasks_1h],
    ["Mean duration", seconds(p.avg_task_duration)],
    ["Agents active / idle / error", `${m.agents.active} / ${m.agents.idle} / ${m.agents.error}`],
    ["CPU", s.cpu_usage === null ? "—" : `${s.cpu_usage}%`],
    ["Memory", `${s.memory_usage}%`],
    ["Disk", `${s.disk_usage}%`],
  ]);
}
