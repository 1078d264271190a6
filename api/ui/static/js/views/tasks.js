// Tasks: the list with the seed's filters, updated live, and the form to submit one.

import { get, openapi, post } from "../api.js";
import { badge, batched, fill, h, progressBar, table, time } from "../dom.js";
import { schemaForm } from "../form.js";
import { bodySchema, choices, parameterSchema } from "../schema.js";
import { foldTask } from "./taskfold.js";

const FILTERS = ["status", "agent_id", "task_type", "priority", "from_date", "to_date", "limit", "offset"];

export async function render(ctx) {
  const [doc, agentList] = await Promise.all([openapi(), get("/agents", {}, { signal: ctx.signal })]);
  const taskTypes = [...new Set(agentList.agents.flatMap((a) => a.capabilities)), "echo"].sort();
  const params = Object.fromEntries(FILTERS.map((f) => [f, ctx.search.get(f) || ""]));
  const list = h("div", { id: "task-list" });
  const submitPanel = ctx.can("write") ? submitForm(ctx, doc, taskTypes) : null;
  fill(
    ctx.root,
    h("h1", {}, "Tasks"),
    submitPanel,
    filterForm(ctx, doc, params, agentList.agents.map((a) => a.id), taskTypes),
    list,
  );

  let rows = new Map(); // task id -> the row's state and its cells
  async function load() {
    const page = await get("/tasks", params, { signal: ctx.signal });
    rows = new Map();
    fill(list, summary(page, params, ctx), taskTable(page.tasks, rows));
  }
  await load();

  const reload = batched(load, 300);
  ctx.on(["task.*"], (event) => {
    const row = rows.get(event.data.task_id);
    if (row) {
      foldTask(row.state, event);
      row.update();
    } else if (event.type === "task.created" && !Number(params.offset)) {
      reload(); // a new task: it may belong on this page
    }
  });
}

function submitForm(ctx, doc, taskTypes) {
  const form = schemaForm(doc, bodySchema(doc, "post", "/api/v1/tasks"), {
    submit: "Submit task",
    freeform: "parameters",
    fields: {
      task_type: { suggestions: taskTypes, hint: "what to run: echo is the diagnostic task" },
      parameters: { hint: 'a JSON object, e.g. {"message": "hi", "steps": 5, "delay": 2} for echo', rows: 3 },
    },
    async onsubmit(body) {
      const made = await post("/tasks", body);
      ctx.go(`#/tasks/${made.task_id}`);
    },
  });
  form.id = "submit-task";
  return h("details", { class: "panel", open: true }, h("summary", {}, "Submit a task"), form);
}

function filterForm(ctx, doc, params, agentIds, taskTypes) {
  const choice = (name, values) =>
    h("select", { name }, h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v }, v)));
  const allowed = (name) => choices(doc, parameterSchema(doc, "get", "/api/v1/tasks", name)) || [];
  const controls = {
    status: choice("status", allowed("status")),
    agent_id: choice("agent_id", agentIds),
    task_type: choice("task_type", taskTypes),
    priority: choice("priority", allowed("priority")),
    from_date: h("input", { name: "from_date", type: "datetime-local", step: 1 }),
    to_date: h("input", { name: "to_date", type: "datetime-local", step: 1 }),
    limit: choice("limit", ["20", "50", "100"]),
  };
  for (const [name, el] of Object.entries(controls)) {
    const value = params[name];
    el.value = name.endsWith("_date") && value ? localInput(value) : value;
  }
  const form = h(
    "form",
    { class: "panel row", id: "task-filters" },
    Object.entries(controls).map(([name, el]) => h("div", { class: "field" }, h("label", {}, name.replace("_", " ")), el)),
    h("div", { class: "field" }, h("button", { type: "submit" }, "Filter")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = {};
    for (const [name, el] of Object.entries(controls)) {
      if (!el.value) continue;
      // The picker shows the browser's local time; the API takes UTC.
      chosen[name] = name.endsWith("_date") ? new Date(el.value).toISOString() : el.value;
    }
    ctx.go(`#/tasks?${new URLSearchParams(chosen)}`);
  });
  return form;
}

/** An ISO 8601 time as a datetime-local input's value: the browser's local time. */
function localInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function summary(page, params, ctx) {
  const offset = Number(params.offset) || 0;
  const move = (to) => {
    const next = new URLSearchParams(ctx.search);
    next.set("offset", String(Math.max(0, to)));
    ctx.go(`#/tasks?${next}`);
  };
  return h(
    "div",
    { class: "pager" },
    h("span", { class: "muted", id: "task-total" }, `${page.total} task${page.total === 1 ? "" : "s"}`),
    h("button", { type: "button", disabled: offset === 0, on: { click: () => move(offset - page.limit) } }, "Newer"),
    h("button", { type: "button", disabled: !page.has_more, on: { click: () => move(offset + page.limit) } }, "Older"),
  );
}

function taskTable(tasks, rows) {
  const columns = [
    { title: "Task", cell: (t) => h("a", { href: `#/tasks/${t.task_id}`, class: "mono" }, t.task_id) },
    { title: "Type", cell: (t) => t.task_type },
    { title: "Status", cell: (t) => rows.get(t.task_id).cells.status },
    { title: "Priority", cell: (t) => t.priority },
    { title: "Progress", cell: (t) => rows.get(t.task_id).cells.progress },
    { title: "Created", cell: (t) => time(t.created_at) },
    { title: "Updated", cell: (t) => rows.get(t.task_id).cells.updated },
  ];
  for (const t of tasks) {
    const cells = { status: h("span"), progress: h("span"), updated: h("span") };
    const row = {
      state: { ...t },
      cells,
      update() {
        fill(cells.status, badge(row.state.status));
        fill(cells.progress, progressBar(row.state.progress));
        fill(cells.updated, time(row.state.updated_at));
      },
    };
    row.update();
    rows.set(t.task_id, row);
  }
  return table(columns, tasks, { empty: "No task matches.", rowProps: (t) => ({ dataset: { taskId: t.task_id } }) });
}
