// A task's state moved on by its events, as the node's tasks projection folds them
// (events/projections/tasks.py), so that a view follows a task from the live feed alone.
//
// The view's first state comes from GET /tasks/{id}, which may already include some of
// the events that arrive next: an event never moves the state back (a finished task
// stays finished, progress within an attempt only grows), except a requeue.

const FINISHED = new Set(["completed", "failed", "cancelled"]);

export function foldTask(state, event) {
  const data = event.data;
  state.agents = state.agents || {};
  state.updated_at = event.ts;
  if (FINISHED.has(state.status) && event.type !== "task.requeued") {
    if (event.type === "task.completed" && data.agent_id) state.agents[data.agent_id] = { status: "completed", progress: 100 };
    return state;
  }
  switch (event.type) {
    case "task.started":
      state.status = "in_progress";
      state.attempt = data.attempt;
      state.started_at = state.started_at || event.ts;
      if (data.agent_id) state.agents[data.agent_id] = { status: "working", progress: 0 };
      break;
    case "task.progress": {
      state.status = "in_progress";
      state.progress = Math.max(state.progress || 0, data.progress);
      const agentProgress = data.agent_progress === null || data.agent_progress === undefined ? data.progress : data.agent_progress;
      const before = state.agents[data.agent_id] || { progress: 0 };
      state.agents[data.agent_id] = { status: data.agent_status || "working", progress: Math.max(before.progress, agentProgress) };
      break;
    }
    case "task.completed":
      Object.assign(state, { status: "completed", progress: 100, completed_at: event.ts });
      if (data.agent_id) state.agents[data.agent_id] = { status: "completed", progress: 100 };
      break;
    case "task.failed":
      Object.assign(state, { status: "failed", completed_at: event.ts, error: { reason: data.reason, message: data.error } });
      if (data.agent_id) state.agents[data.agent_id] = { status: "failed", progress: (state.agents[data.agent_id] || {}).progress || 0 };
      break;
    case "task.cancelled":
      Object.assign(state, { status: "cancelled", cancelled_at: event.ts });
      for (const agent of Object.values(state.agents)) if (agent.status === "working") agent.status = "cancelled";
      break;
    case "task.requeued":
      Object.assign(state, { status: "queued", attempt: data.attempt, progress: 0 });
      for (const agent of Object.values(state.agents)) if (agent.status === "working") agent.status = "abandoned";
      break;
    default:
      break;
  }
  return state;
}

export function finished(state) {
  return FINISHED.has(state.status);
}
