// One task: its status and progress per agent, moved on by the live feed as its events
// are committed, and its results once it ends.

import { del, get } from "../api.js";
import { badge, cards, confirmButton, fill, h, messageOf, notice, progressBar, table, time } from "../dom.js";
import { resultsView } from "../results.js";
import { finished, foldTask } from "./taskfold.js";

const CATCH_UP_TRIES = 20;

export async function render(ctx, taskId) {
  const early = []; // events that arrive while the task is being read
  let state = null;
  ctx.on(["task.*"], (event) => {
    if (event.data.task_id !== taskId) return;
    if (!state) early.push(event);
    else apply(event);
  });
  state = await get(`/tasks/${encodeURIComponent(taskId)}`, {}, { signal: ctx.signal });
  for (const event of early) foldTask(state, event);

  const header = h("div", { class: "panel", id: "task-header" });
  const agentsPanel = h("div", { class: "panel", id: "task-agents" });
  const resultsPanel = h("div", { class: "panel", id: "task-results" });
  fill(ctx.root, h("p", {}, h("a", { href: "#/tasks" }, "← Tasks")), h("h1", { class: "mono" }, taskId), header, agentsPanel, resultsPanel);

  function draw() {
    fill(
      header,
      cards(
        [
          ["Status", badge(state.status), "task-status"],
          ["Progress", progressBar(state.progress, { id: "task-progress", class: "wide" })],
          ["Type", state.task_type],
          ["Priority", state.priority],
          ["Attempt", state.attempt],
          ["Created", time(state.created_at)],
          ["Started", time(state.started_at)],
          [finished(state) ? "Ended" : "Updated", time(state.completed_at || state.cancelled_at || state.updated_at)],
        ],
        "cards compact",
      ),
      state.error ? notice("bad", `${state.error.reason}: ${state.error.message}`) : null,
      !finished(state) && ctx.can("write")
        ? h("p", {}, confirmButton("Cancel task", "Really cancel?", () => cancel()))
        : null,
    );
    const agents = Object.entries(state.agents || {}).map(([id, a]) => ({ id, ...a }));
    fill(
      agentsPanel,
      h("h2", {}, "Agents"),
      table(
        [
          { title: "Agent", cell: (a) => h("a", { href: `#/agents/${a.id}` }, a.id) },
          { title: "Status", cell: (a) => badge(a.status) },
          { title: "Progress", cell: (a) => progressBar(a.progress, { dataset: { agent: a.id } }) },
        ],
        agents,
        { empty: `Not started yet; may run on: ${(state.assigned_agents || []).join(", ") || "—"}` },
      ),
      state.parts && Object.keys(state.parts).length
        ? h("p", {}, "Parts: ", Object.entries(state.parts).map(([name, id]) => h("span", {}, `${name} `, h("a", { href: `#/tasks/${id}`, class: "mono" }, id), " ")))
        : null,
    );
  }

  let resultsShown = false;
  async function showResults() {
    if (resultsShown) return;
    resultsShown = true;
    // The read model may trail the live feed by a moment: read until it has the end too.
    for (let n = 0; n < CATCH_UP_TRIES && !ctx.signal.aborted; n++) {
      const body = await get(`/tasks/${encodeURIComponent(taskId)}/results`, {}, { signal: ctx.signal });
      if (finished(body)) {
        fill(resultsPanel, h("h2", {}, "Results"), body.error ? notice("bad", `${body.error.reason}: ${body.error.message}`) : null, resultsView(body.results));
        return;
      }
      await new Promise((done) => setTimeout(done, 100 * (n + 1)));
    }
    resultsShown = false;
  }

  async function cancel() {
    try {
      await del(`/tasks/${encodeURIComponent(taskId)}`);
    } catch (error) {
      header.append(notice("bad", messageOf(error)));
    }
  }

  function apply(event) {
    foldTask(state, event);
    draw();
    if (finished(state)) showResults().catch((error) => resultsPanel.append(notice("bad", messageOf(error))));
  }

  draw();
  if (finished(state)) await showResults();
  else fill(resultsPanel, h("h2", {}, "Results"), h("p", { class: "muted" }, "They appear here when the task ends."));
}

