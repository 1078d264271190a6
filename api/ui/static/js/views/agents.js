// Agents: status, task slots and performance, read again when their tasks move; one
// agent's capabilities, and its configuration (admins may change it).

import { get, openapi, put } from "../api.js";
import { badge, cards, batched, fill, h, notice, percent, seconds, table } from "../dom.js";
import { schemaForm } from "../form.js";
import { bodySchema } from "../schema.js";

const MOVES = ["agent.*", "task.started", "task.completed", "task.failed", "task.cancelled", "task.requeued"];

export async function render(ctx, agentId) {
  if (agentId) return renderOne(ctx, agentId);
  const body = h("div", { id: "agent-list" });
  fill(ctx.root, h("h1", {}, "Agents"), body);
  async function load() {
    const { agents } = await get("/agents", {}, { signal: ctx.signal });
    // The list has no slot count: each agent's configuration has (8 agents, read at once).
    const details = await Promise.all(agents.map((a) => get(`/agents/${a.id}`, {}, { signal: ctx.signal })));
    const slots = Object.fromEntries(details.map((d) => [d.id, d.configuration.max_concurrent_tasks]));
    fill(
      body,
      table(
        [
          { title: "Agent", cell: (a) => h("a", { href: `#/agents/${a.id}` }, a.id) },
          { title: "Name", cell: (a) => a.name },
          { title: "Type", cell: (a) => a.type },
          { title: "Status", cell: (a) => badge(a.status) },
          { title: "Slots in use", cell: (a) => slotMeter(a.performance.running_tasks, slots[a.id]) },
          { title: "Completed", class: "num", cell: (a) => String(a.performance.tasks_completed) },
          { title: "Failed", class: "num", cell: (a) => String(a.performance.tasks_failed) },
          { title: "Success", class: "num", cell: (a) => percent(a.performance.success_rate) },
          { title: "Mean time", class: "num", cell: (a) => seconds(a.performance.avg_completion_time) },
          { title: "Capabilities", cell: (a) => a.capabilities.join(", ") },
        ],
        agents,
        { rowProps: (a) => ({ dataset: { agentId: a.id } }) },
      ),
    );
  }
  await load();
  ctx.on(MOVES, batched(load, 400));
}

function slotMeter(running, max) {
  return h("span", {}, h("meter", { min: 0, max: max || 1, value: running }), ` ${running} / ${max ?? "?"}`);
}

async function renderOne(ctx, agentId) {
  const doc = await openapi();
  const info = h("div", { id: "agent-detail" });
  const config = h("div");
  fill(ctx.root, h("p", {}, h("a", { href: "#/agents" }, "← Agents")), h("h1", {}, agentId), info, config);
  async function load() {
    const a = await get(`/agents/${encodeURIComponent(agentId)}`, {}, { signal: ctx.signal });
    if (ctx.can("admin") && !config.firstChild) fill(config, configPanel(doc, agentId, a.configuration));
    const p = a.performance;
    fill(
      info,
      h("div", { class: "panel" }, h("p", {}, a.name, " · ", a.type, " · ", badge(a.status)), h("p", { class: "muted" }, a.description)),
      cards([
          ["Slots in use", `${p.running_tasks} / ${a.configuration.max_concurrent_tasks}`],
          ["Completed", p.tasks_completed],
          ["Failed", p.tasks_failed],
          ["Success rate", percent(p.success_rate)],
          ["Mean time", seconds(p.avg_completion_time)],
          ["Restarts", a.restarts],
          ["Timeout", seconds(a.configuration.timeout)],
          ["Priority", a.configuration.priority],
      ]),
      a.last_error ? notice("bad", `Last error: ${a.last_error}`) : null,
      h("h2", {}, "Capabilities"),
      table(
        [
          { title: "Task type", cell: (c) => c.name },
          { title: "What it does", cell: (c) => c.description },
          { title: "Parameters", cell: (c) => (c.parameters || []).join(", ") },
        ],
        Object.entries(a.capabilities).map(([name, c]) => ({ name, ...c })),
      ),
    );
  }
  await load();
  const reload = batched(load, 400);
  ctx.on(MOVES, (event) => {
    if (event.data.agent_id === agentId) reload();
  });
}

function configPanel(doc, agentId, configuration) {
  const done = h("div");
  const form = schemaForm(doc, bodySchema(doc, "put", "/api/v1/agents/{agent_id}/config"), {
    submit: "Save configuration",
    fields: Object.fromEntries(Object.entries(configuration).map(([k, v]) => [k, { hint: `now: ${v}` }])),
    async onsubmit(body) {
      await put(`/agents/${encodeURIComponent(agentId)}/config`, body);
      fill(done, notice("ok", "Saved: the agent runs with it from now on."));
    },
  });
  form.id = "agent-config";
  return h("div", { class: "panel" }, h("h2", {}, "Configuration (admin)"), form, done);
}
