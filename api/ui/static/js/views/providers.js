// AI providers: status, breaker and health (read again when a provider's state changes),
// a live test of one, and one provider's configuration, metrics and usage.

import { get, openapi, post, put } from "../api.js";
import { badge, cards, batched, fill, h, messageOf, notice, percent, seconds, table, time } from "../dom.js";
import { schemaForm } from "../form.js";
import { bodySchema } from "../schema.js";

export async function render(ctx, providerId) {
  if (providerId) return renderOne(ctx, providerId);
  const head = h("div", { id: "provider-summary" });
  const body = h("div", { id: "provider-list" });
  const tested = h("div", { id: "provider-test" });
  fill(ctx.root, h("h1", {}, "AI providers"), head, tested, body);
  async function load() {
    const board = await get("/ai-providers", {}, { signal: ctx.signal });
    fill(
      head,
      h(
        "p",
        { class: "muted" },
        `${board.active_providers} of ${board.total_providers} active · strategy ${board.selection_strategy} · fallback chain: `,
        h("span", { class: "mono" }, (board.fallback_chain || []).join(" → ")),
      ),
    );
    fill(
      body,
      table(
        [
          { title: "Provider", cell: (p) => h("a", { href: `#/providers/${p.id}` }, p.id) },
          { title: "Name", cell: (p) => p.name },
          { title: "Status", cell: (p) => badge(p.status) },
          { title: "Health", cell: (p) => badge(p.health.status) },
          { title: "Breaker", cell: (p) => badge(p.health.breaker) },
          { title: "Priority", class: "num", cell: (p) => String(p.priority) },
          { title: "Type", cell: (p) => p.provider_type },
          { title: "Model", cell: (p) => p.model },
          { title: "Success", class: "num", cell: (p) => percent(p.health.success_rate) },
          { title: "Response", class: "num", cell: (p) => seconds(p.health.avg_response_time) },
          { title: "Last call", cell: (p) => time(p.health.last_checked) },
          { title: "", cell: (p) => (ctx.can("write") ? testButton(p.id, tested) : null) },
        ],
        board.providers,
        { rowProps: (p) => ({ dataset: { providerId: p.id } }) },
      ),
    );
  }
  await load();
  ctx.on(["provider.*"], batched(load, 400));
}

function testButton(providerId, out) {
  const button = h("button", { type: "button", dataset: { test: providerId } }, "Test");
  button.addEventListener("click", async () => {
    button.disabled = true;
    fill(out, notice("warn", `Testing ${providerId}…`));
    try {
      fill(out, testResult(await post(`/ai-providers/${encodeURIComponent(providerId)}/test`)));
    } catch (error) {
      fill(out, notice("bad", messageOf(error)));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function testResult(result) {
  const kind = { success: "ok", failed: "bad" }[result.test_status] || "warn";
  return notice(
    kind,
    h("strong", {}, `${result.provider_id}: ${result.test_status}`),
    ` (${seconds(result.response_time)}, model ${result.model})`,
    h(
      "ul",
      { class: "test-results" },
      Object.entries(result.test_results).map(([check, outcome]) =>
        h("li", { dataset: { check } }, `${check}: `, badge(outcome), result.reasons && result.reasons[check] ? ` ${result.reasons[check]}` : ""),
      ),
    ),
  );
}

async function renderOne(ctx, providerId) {
  const doc = await openapi();
  const info = h("div", { id: "provider-detail" });
  const tested = h("div", { id: "provider-test" });
  const config = h("div");
  fill(
    ctx.root,
    h("p", {}, h("a", { href: "#/providers" }, "← AI providers")),
    h("h1", {}, providerId, " ", ctx.can("write") ? testButton(providerId, tested) : null),
    tested,
    info,
    config,
  );
  async function load() {
    const p = await get(`/ai-providers/${encodeURIComponent(providerId)}`, {}, { signal: ctx.signal });
    if (ctx.can("admin") && !config.firstChild) fill(config, configPanel(doc, providerId, p));
    const m = p.metrics;
    const facts = [
      ["Status", badge(p.status)],
      ["Health", badge(p.health.status)],
      ["Breaker", badge(p.health.breaker)],
      ["Priority", p.priority],
      ["Enabled", p.enabled ? "yes" : "no"],
      ["Calls", m.total_requests],
      ["Success rate", percent(m.success_rate)],
      ["Mean response", seconds(m.avg_response_time)],
      ["Tokens in / out", `${m.prompt_tokens} / ${m.completion_tokens}`],
      ["Cost", `$${m.cost_usd}`],
      ["Consecutive failures", m.consecutive_failures],
      ["Cooling for", p.health.cooling_for_s === null ? "—" : seconds(p.health.cooling_for_s)],
    ];
    fill(
      info,
      cards(facts),
      h("h2", {}, "Configuration"),
      table(
        [
          { title: "Setting", cell: (r) => r[0] },
          { title: "Value", cell: (r) => (r[1] === null || r[1] === undefined ? "—" : String(r[1])) },
        ],
        Object.entries({ ...p.configuration, ...flatLimits(p.rate_limits) }),
      ),
      h("h2", {}, "Outcomes"),
      table([{ title: "Outcome", cell: (r) => r[0] }, { title: "Calls", class: "num", cell: (r) => String(r[1]) }], Object.entries(m.outcomes || {}), { empty: "No call yet." }),
      h("h2", {}, "Usage per API key"),
      table(
        Object.keys((p.usage_by_key || [])[0] || {}).map((k) => ({ title: k, cell: (r) => String(r[k] ?? "—") })),
        p.usage_by_key || [],
        { empty: "No call yet." },
      ),
    );
  }
  await load();
  const reload = batched(load, 400);
  ctx.on(["provider.*"], (event) => {
    if (event.data.provider === providerId) reload();
  });
}

function flatLimits(limits) {
  return { requests_per_minute: limits.requests_per_minute, tokens_per_minute: limits.tokens_per_minute };
}

function configPanel(doc, providerId, provider) {
  const done = h("div");
  const form = schemaForm(doc, bodySchema(doc, "put", "/api/v1/ai-providers/{provider_id}/config"), {
    submit: "Save configuration",
    fields: { model: { hint: `now: ${provider.configuration.model}` }, priority: { hint: `now: ${provider.priority}` } },
    async onsubmit(body) {
      await put(`/ai-providers/${encodeURIComponent(providerId)}/config`, body);
      fill(done, notice("ok", "Saved."));
    },
  });
  form.id = "provider-config";
  return h("div", { class: "panel" }, h("h2", {}, "Change the configuration (admin)"), form, done);
}
