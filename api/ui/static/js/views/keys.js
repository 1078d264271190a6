// Settings → API keys (admin): generate one (its secret shown this once), rotate, revoke.
//
// A new key's secret is held only by the panel that shows it: it is in no list, no
// storage and no later answer; leaving the page forgets it.

import { del, get, openapi, post } from "../api.js";
import { badge, confirmButton, batched, fill, h, messageOf, notice, table, time } from "../dom.js";
import { schemaForm } from "../form.js";
import { bodySchema } from "../schema.js";

export async function render(ctx) {
  if (!ctx.can("admin")) {
    fill(ctx.root, h("h1", {}, "API keys"), notice("warn", "Keys are managed with an admin key."));
    return;
  }
  const doc = await openapi();
  const shown = h("div", { id: "key-shown" });
  const list = h("div", { id: "key-list" });
  const form = schemaForm(doc, bodySchema(doc, "post", "/api/v1/api-keys"), {
    submit: "Generate key",
    fields: { expires_at: { hint: "UTC, ISO 8601; empty: never" } },
    async onsubmit(body) {
      const made = await post("/api-keys", body);
      fill(shown, secretPanel(made.api_key, `Key ${made.key_id} (${made.name}) made.`, shown));
      form.reset();
      await load();
    },
  });
  form.id = "new-key";
  fill(
    ctx.root,
    h("h1", {}, "Settings → API keys"),
    h("details", { class: "panel", open: true }, h("summary", {}, "Generate a new key"), form),
    shown,
    list,
  );

  let drawn = "";
  async function load() {
    const { api_keys: keys } = await get("/api-keys", {}, { signal: ctx.signal });
    const text = JSON.stringify(keys);
    if (text === drawn) return; // unchanged: keep the rows (and a half-confirmed revoke)
    drawn = text;
    fill(
      list,
      table(
        [
          { title: "Key id", cell: (k) => h("span", { class: "mono" }, k.key_id) },
          { title: "Name", cell: (k) => k.name },
          { title: "Prefix", cell: (k) => h("span", { class: "mono" }, `${k.prefix}_…`) },
          { title: "Scopes", cell: (k) => k.scopes.join(", ") },
          { title: "Tier", cell: (k) => k.tier },
          { title: "Owner", cell: (k) => k.owner || "—" },
          { title: "Status", cell: (k) => badge(k.status) },
          { title: "Created", cell: (k) => time(k.created_at) },
          { title: "Expires", cell: (k) => (k.expires_at ? time(k.expires_at) : "never") },
          { title: "Rotated", cell: (k) => h("span", { class: "rotated" }, k.rotated_at ? time(k.rotated_at) : "") },
          { title: "", cell: (k) => (k.status === "revoked" ? null : actions(k)) },
        ],
        keys,
        { empty: "No key made here yet (AMAS_API_KEY is not listed).", rowProps: (k) => ({ dataset: { keyId: k.key_id } }) },
      ),
    );
  }

  function actions(key) {
    const rotate = h("button", { type: "button", dataset: { action: "rotate" } }, "Rotate");
    rotate.addEventListener("click", async () => {
      rotate.disabled = true;
      try {
        const rotated = await post(`/api-keys/${key.key_id}/rotate`);
        fill(shown, secretPanel(rotated.api_key, `Key ${key.key_id} rotated: the old secret no longer works.`, shown));
      } catch (error) {
        fill(shown, notice("bad", messageOf(error)));
      } finally {
        rotate.disabled = false;
      }
    });
    const revoke = confirmButton("Revoke", "Really revoke?", async () => {
      try {
        await del(`/api-keys/${key.key_id}`);
        fill(shown, notice("ok", `Key ${key.key_id} revoked: refused from now on.`));
        await load();
      } catch (error) {
        fill(shown, notice("bad", messageOf(error)));
      }
    }, { dataset: { action: "revoke" } });
    return h("span", {}, rotate, revoke);
  }

  await load();
  ctx.on(["apikey.*"], batched(load, 300));
}

/** A secret shown this once, with a way to copy it and to put it away. */
export function secretPanel(secret, what, container) {
  const field = h("input", { type: "text", readonly: true, value: secret, id: "secret-value", class: "mono" });
  const copy = h("button", { type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(secret);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Select and copy it";
    }
  });
  const dismiss = h("button", { type: "button", id: "secret-stored" }, "I have stored it");
  dismiss.addEventListener("click", () => fill(container));
  return notice(
    "warn",
    h("p", {}, h("strong", {}, what), " Store the secret now: it is shown only this once and cannot be recovered."),
    h("div", { class: "secret" }, field, copy, dismiss),
  );
}
