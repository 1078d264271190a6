// The console's shell: sign-in, the live feed, and a view per address (#/tasks, …).
//
// A view is a module exporting `render(ctx, ...match)`; it draws into ctx.root and
// subscribes to the live feed through ctx.on, which ends its subscriptions when the
// view is left. ctx.signal aborts the requests of a view that was left.

import { session } from "./api.js";
import { fill, h, messageOf, notice } from "./dom.js";
import { Live } from "./live.js";
import * as agents from "./views/agents.js";
import * as eventLog from "./views/events.js";
import * as keys from "./views/keys.js";
import * as metrics from "./views/metrics.js";
import * as providers from "./views/providers.js";
import * as task from "./views/task.js";
import * as tasks from "./views/tasks.js";
import * as webhooks from "./views/webhooks.js";
import * as workflow from "./views/workflow.js";
import * as workflows from "./views/workflows.js";

const ROUTES = [
  [/^tasks\/([\w.-]+)$/, task, "tasks"],
  [/^tasks$/, tasks, "tasks"],
  [/^agents(?:\/([\w.-]+))?$/, agents, "agents"],
  [/^workflows\/([\w.-]+)$/, workflow, "workflows"],
  [/^workflows$/, workflows, "workflows"],
  [/^providers(?:\/([\w.-]+))?$/, providers, "providers"],
  [/^metrics$/, metrics, "metrics"],
  [/^events$/, eventLog, "events"],
  [/^settings\/keys$/, keys, "settings/keys"],
  [/^settings\/webhooks$/, webhooks, "settings/webhooks"],
];

const live = new Live();
const view = document.getElementById("view");
const nav = document.getElementById("nav");
let principal = null;
let current = null; // the view on screen: {controller, unsubscribers}

live.onstate = (state) => {
  const badge = document.getElementById("live");
  badge.dataset.state = state;
  badge.textContent = { live: "live", reconnecting: "reconnecting…", off: "offline" }[state] || state;
};
live.onunauthorized = (error) => signOut(`Signed out: ${messageOf(error)}`);
window.addEventListener("amas:unauthorized", (event) => {
  if (principal) signOut(`Signed out: ${messageOf(event.detail)}`);
});
window.addEventListener("hashchange", () => route());
document.getElementById("signout").addEventListener("click", () => signOut("Signed out."));

/** Parse `#/path?query` into [path, URLSearchParams]. */
export function where() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  return [path || "tasks", new URLSearchParams(search || "")];
}

function route() {
  if (current) {
    current.controller.abort();
    current.unsubscribers.forEach((stop) => stop());
  }
  if (!principal) return;
  const [path, search] = where();
  const found = ROUTES.map(([pattern, module, name]) => [path.match(pattern), module, name]).find(([m]) => m);
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("current", Boolean(found) && link.dataset.nav === found[2]);
  current = { controller: new AbortController(), unsubscribers: [] };
  const mine = current;
  const ctx = {
    root: fill(view),
    search,
    principal,
    signal: mine.controller.signal,
    can: (scope) => principal.scopes.includes(scope) || principal.scopes.includes("admin"),
    on(patterns, fn) {
      mine.unsubscribers.push(live.subscribe(patterns, (event) => {
        if (!mine.controller.signal.aborted) fn(event);
      }));
    },
    go(hash) {
      location.hash = hash;
    },
  };
  if (!found) {
    fill(view, notice("warn", "No such page. ", h("a", { href: "#/tasks" }, "Go to the tasks.")));
    return;
  }
  const [match, module] = found;
  Promise.resolve(module.render(ctx, ...match.slice(1))).catch((error) => {
    if (error.name === "AbortError" || mine.controller.signal.aborted) return;
    view.append(notice("bad", messageOf(error)));
  });
}

function showSignIn(message) {
  principal = null;
  nav.hidden = true;
  document.getElementById("signout").hidden = true;
  fill(document.getElementById("who"));
  const input = h("input", { type: "password", id: "api-key", name: "api-key", autocomplete: "off", placeholder: "amas_…", required: true });
  const error = h("div", { class: "form-error", id: "signin-error", role: "alert" }, message || "");
  const form = h(
    "form",
    { class: "panel signin", id: "signin" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "with an AMAS API key. It stays in this tab (sessionStorage) and goes to the node only in the X-API-Key header."),
    h("label", { for: "api-key" }, "API key"),
    input,
    error,
    h("p", {}, h("button", { type: "submit", class: "primary" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(error);
    await signIn(input.value.trim(), (e) => fill(error, messageOf(e)));
  });
  fill(view, form);
  input.focus();
}

async function signIn(key, failed) {
  if (!key) return failed(new Error("Enter an API key."));
  session.set(key);
  try {
    principal = await live.start(key);
  } catch (error) {
    session.clear();
    return failed(error);
  }
  nav.hidden = false;
  document.getElementById("signout").hidden = false;
  for (const link of nav.querySelectorAll("[data-admin]")) link.hidden = !principal.scopes.includes("admin");
  fill(document.getElementById("who"), `${principal.name} · ${principal.scopes.join(", ")}`);
  if (!location.hash || location.hash === "#/signin") location.hash = "#/tasks";
  else route();
}

function signOut(message) {
  live.close();
  session.clear();
  if (current) current.controller.abort();
  showSignIn(message);
}

if (session.key) signIn(session.key, (error) => showSignIn(messageOf(error)));
else showSignIn();
