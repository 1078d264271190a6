// Workflows: the runs (read again as their events come), and the forms that trigger the
// orchestrator, the self-improver and the issue responder.

import { get, openapi, post } from "../api.js";
import { badge, batched, fill, h, progressBar, seconds, table, time } from "../dom.js";
import { schemaForm } from "../form.js";
import { bodySchema } from "../schema.js";

const TYPES = [
  ["orchestrator", "Master orchestrator"],
  ["self-improver", "Project self-improver"],
  ["issue-responder", "Issue auto-responder"],
];
const STATUSES = ["running", "completed", "failed", "cancelled"];

export async function render(ctx) {
  const doc = await openapi();
  const type = ctx.search.get("workflow_type") || "";
  const status = ctx.search.get("status") || "";
  const list = h("div", { id: "workflow-list" });
  const filter = (name, values, current) => {
    const select = h("select", { name, id: `wf-${name}` }, h("option", { value: "" }, "any"), values.map((v) => h("option", { value: v }, v)));
    select.value = current;
    select.addEventListener("change", () => {
      const next = new URLSearchParams(ctx.search);
      if (select.value) next.set(name, select.value);
      else next.delete(name);
      ctx.go(`#/workflows?${next}`);
    });
    return h("div", { class: "field" }, h("label", { for: select.id }, name.replace("_", " ")), select);
  };
  fill(
    ctx.root,
    h("h1", {}, "Workflows"),
    ctx.can("write") ? TYPES.map(([name, title]) => triggerPanel(ctx, doc, name, title)) : null,
    h("div", { class: "row" }, filter("workflow_type", TYPES.map(([t]) => t), type), filter("status", STATUSES, status)),
    list,
  );
  async function load() {
    const page = await get("/workflows", { workflow_type: type, status, limit: 50 }, { signal: ctx.signal });
    fill(
      list,
      h("p", { class: "muted" }, `${page.total} run${page.total === 1 ? "" : "s"}`),
      table(
        [
          { title: "Workflow", cell: (w) => h("a", { href: `#/workflows/${w.workflow_id}`, class: "mono" }, w.workflow_id) },
          { title: "Type", cell: (w) => w.workflow_type },
          { title: "Status", cell: (w) => badge(w.status) },
          { title: "Progress", cell: (w) => progressBar(w.progress) },
          { title: "Layer", cell: (w) => w.current_layer || "—" },
          { title: "Started", cell: (w) => time(w.started_at) },
          { title: "Took", class: "num", cell: (w) => seconds(w.duration_s) },
        ],
        page.workflows,
        { empty: "No run yet.", rowProps: (w) => ({ dataset: { workflowId: w.workflow_id } }) },
      ),
    );
  }
  await load();
  ctx.on(["workflow.*"], batched(load, 400));
}

function triggerPanel(ctx, doc, name, title) {
  const path = `/api/v1/workflows/${name}/trigger`;
  const form = schemaForm(doc, bodySchema(doc, "post", path), {
    submit: `Trigger the ${title.toLowerCase()}`,
    fields: {
      repository: { hint: "a folder inside AMAS_CODE_SCOPE (a git repository for fixes)" },
      issues_folder: { hint: "a folder of issue files (else AMAS_GITHUB_REPO's open issues)" },
    },
    async onsubmit(body) {
      const made = await post(`/workflows/${name}/trigger`, body);
      ctx.go(`#/workflows/${made.workflow_id}`);
    },
  });
  form.id = `trigger-${name}`;
  return h("details", { class: "panel" }, h("summary", {}, `Trigger: ${title}`), form);
}
