// Settings → Webhooks: the key's webhooks (an admin sees all), register one (its secret
// shown once), test, pause, rotate the secret, delete, and each one's deliveries.

import { del, get, openapi, patch, post } from "../api.js";
import { badge, confirmButton, batched, fill, h, messageOf, notice, table, time } from "../dom.js";
import { schemaForm } from "../form.js";
import { bodySchema } from "../schema.js";
import { secretPanel } from "./keys.js";

export async function render(ctx) {
  const doc = await openapi();
  const shown = h("div", { id: "webhook-shown" });
  const list = h("div", { id: "webhook-list" });
  const deliveries = h("div", { id: "webhook-deliveries" });
  const writer = ctx.can("write");
  const form = writer
    ? schemaForm(doc, bodySchema(doc, "post", "/api/v1/webhooks"), {
        submit: "Register webhook",
        fields: {
          url: { hint: "where to POST; must be inside AMAS_WEBHOOK_ALLOW" },
          events: { hint: "comma-separated: task.completed, task.*, system.alert …" },
          secret: { hint: "empty: the node makes one and shows it once" },
        },
        async onsubmit(body) {
          const made = await post("/webhooks", body);
          fill(shown, made.secret ? secretPanel(made.secret, `Webhook ${made.id} registered.`, shown) : notice("ok", "Registered."));
          form.reset();
          await load();
        },
      })
    : null;
  if (form) form.id = "new-webhook";
  fill(
    ctx.root,
    h("h1", {}, "Settings → Webhooks"),
    form ? h("details", { class: "panel" }, h("summary", {}, "Register a webhook"), form) : null,
    writer ? h("p", {}, callbackSecretButton(shown)) : null,
    shown,
    list,
    deliveries,
  );

  const say = (kind, text) => fill(shown, notice(kind, text));
  const tell = (attempt) => say(attempt.status === "delivered" ? "ok" : "bad", describe(attempt));
  async function act(what, fn) {
    try {
      await fn();
      await load();
    } catch (error) {
      say("bad", `${what}: ${messageOf(error)}`);
    }
  }

  function actions(w) {
    if (!writer) return null;
    const id = encodeURIComponent(w.id);
    return h(
      "span",
      {},
      h("button", { type: "button", on: { click: () => act("Test", async () => tell(await post(`/webhooks/${id}/test`))) } }, "Test"),
      h("button", { type: "button", on: { click: () => act("Change", () => patch(`/webhooks/${id}`, { enabled: !w.enabled })) } }, w.enabled ? "Pause" : "Resume"),
      h("button", {
        type: "button",
        on: { click: () => act("Rotate", async () => fill(shown, secretPanel((await post(`/webhooks/${id}/rotate-secret`)).secret, `New secret for ${w.id} (the old one signs for a day more).`, shown))) },
      }, "Rotate secret"),
      h("button", { type: "button", on: { click: () => showDeliveries(w) } }, "Deliveries"),
      confirmButton("Delete", "Really delete?", () => act("Delete", () => del(`/webhooks/${id}`))),
    );
  }

  async function showDeliveries(w) {
    const id = encodeURIComponent(w.id);
    const body = await get(`/webhooks/${id}/deliveries`, {}, { signal: ctx.signal });
    const rows = body.deliveries || [];
    fill(
      deliveries,
      h("h2", {}, `Deliveries of ${w.id}`),
      table(
        [
          { title: "Delivery", cell: (d) => h("span", { class: "mono" }, d.delivery_id) },
          { title: "Event", cell: (d) => d.event_type },
          { title: "Status", cell: (d) => badge(d.status) },
          { title: "Attempts", class: "num", cell: (d) => String(d.attempts) },
          { title: "Last answer", cell: (d) => (d.last_status ? `HTTP ${d.last_status}` : d.last_error || "—") },
          { title: "Next attempt", cell: (d) => time(d.next_attempt_at) },
          { title: "Updated", cell: (d) => time(d.updated_at) },
          {
            title: "",
            cell: (d) => (writer ? h("button", { type: "button", on: { click: () => act("Redeliver", async () => tell(await post(`/webhooks/${id}/deliveries/${encodeURIComponent(d.delivery_id)}/redeliver`))) } }, "Redeliver") : null),
          },
        ],
        rows,
        { empty: "No delivery yet." },
      ),
    );
  }

  async function load() {
    const { webhooks } = await get("/webhooks", {}, { signal: ctx.signal });
    fill(
      list,
      table(
        [
          { title: "Webhook", cell: (w) => h("span", { class: "mono" }, w.id) },
          { title: "URL", cell: (w) => h("span", { class: "mono" }, w.url) },
          { title: "Events", cell: (w) => w.events.join(", ") },
          { title: "Status", cell: (w) => h("span", {}, badge(w.enabled ? "enabled" : "disabled"), w.disabled_reason ? ` ${w.disabled_reason}` : "") },
          { title: "Description", cell: (w) => w.description || "" },
          { title: "Created", cell: (w) => time(w.created_at) },
          { title: "", cell: actions },
        ],
        webhooks,
        { empty: "No webhook yet.", rowProps: (w) => ({ dataset: { webhookId: w.id } }) },
      ),
    );
  }
  await load();
  ctx.on(["webhook.*"], batched(load, 500));
}

function callbackSecretButton(shown) {
  return confirmButton("New callback secret", "Replace the secret for callback_url deliveries?", async () => {
    try {
      const made = await post("/webhooks/callback-secret");
      fill(shown, secretPanel(made.secret, "New callback secret for this key's tasks' callback_url deliveries.", shown));
    } catch (error) {
      fill(shown, notice("bad", messageOf(error)));
    }
  });
}

function describe(attempt) {
  const answer = attempt.last_status ? ` (HTTP ${attempt.last_status})` : "";
  return `Delivery ${attempt.delivery_id}: ${attempt.status}${answer}${attempt.last_error ? `: ${attempt.last_error}` : ""}`;
}
