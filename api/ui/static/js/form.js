// Forms built from a request body's JSON Schema (the node's OpenAPI document): the same
// fields, limits and choices as the API. A value outside them is refused before it is
// sent, and the node's own refusals (422's `details.errors`, a 400's `parameter`) are
// shown beside the field they name.

import { ApiError } from "./api.js";
import { fill, h, messageOf } from "./dom.js";
import { nonNull, resolve, validate } from "./schema.js";

/** A form for `schema`. options: submit (the button's text), fields (per field:
 * label, hint, suggestions, initial, omit, wide), onsubmit(value) (may throw an ApiError),
 * freeform (the field that takes problems naming no field, e.g. task "parameters"). */
export function schemaForm(doc, schema, options = {}) {
  schema = resolve(doc, schema);
  const overrides = options.fields || {};
  const fields = new Map();
  const formError = h("div", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, options.submit || "Submit");
  const body = h("div", { class: "form-fields" }, objectFields(doc, schema, "", overrides, fields));
  const form = h("form", { novalidate: true, autocomplete: "off" }, body, formError, h("div", {}, submit));

  function read() {
    const problems = [];
    const value = {};
    for (const [path, field] of fields) {
      const got = field.read();
      if (got.problem) problems.push({ parameter: path, message: got.problem });
      else if (got.value !== undefined) setPath(value, path, got.value);
    }
    return { value, problems };
  }

  function show(problems, message) {
    for (const field of fields.values()) field.error("");
    const unplaced = [];
    for (const p of problems) {
      const field = fieldFor(p.parameter);
      if (field) field.error(p.message);
      else unplaced.push(p);
    }
    const lines = [message, ...unplaced.map((p) => `${p.parameter}: ${p.message}`)].filter(Boolean);
    fill(formError, lines.join("; "));
  }

  function fieldFor(parameter) {
    const path = String(parameter || "");
    if (fields.has(path)) return fields.get(path);
    const parts = path.split(".");
    for (let n = parts.length - 1; n > 0; n--) {
      const prefix = parts.slice(0, n).join(".");
      if (fields.has(prefix)) return fields.get(prefix);
    }
    return options.freeform && path && path !== "body" ? fields.get(options.freeform) : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { value, problems } = read();
    problems.push(...validate(doc, schema, value).filter((p) => !problems.some((q) => q.parameter === p.parameter)));
    if (problems.length) {
      show(problems, "Please correct the marked fields.");
      return;
    }
    show([], "");
    submit.disabled = true;
    try {
      await options.onsubmit(value);
    } catch (error) {
      if (error instanceof ApiError) show(error.problems, error.message);
      else show([], messageOf(error));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function objectFields(doc, schema, prefix, overrides, fields) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, property]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    const override = overrides[path] || {};
    if (override.omit) return null;
    const { schema: plain } = nonNull(doc, property);
    if (plain.type === "object" && plain.properties) {
      return h(
        "fieldset",
        { class: "wide" },
        h("legend", {}, override.label || plain.title || label(name)),
        h("div", { class: "form-fields" }, objectFields(doc, plain, path, overrides, fields)),
      );
    }
    const field = makeField(doc, path, name, property, required.has(name), override);
    fields.set(path, field);
    return field.el;
  });
}

function makeField(doc, path, name, property, required, override) {
  const { schema, nullable } = nonNull(doc, property);
  const id = `f-${path.replace(/\W/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
  const initial = override.initial !== undefined ? override.initial : schema.default;
  const error = h("div", { class: "error", dataset: { errorFor: path } });
  const hintText = override.hint || schema.description || (Array.isArray(schema.examples) && schema.type !== "object" ? `e.g. ${schema.examples[0]}` : "");
  const hint = hintText ? h("div", { class: "hint" }, hintText) : null;
  const caption = `${override.label || schema.title || label(name)}${required ? " *" : ""}`;
  const input = control(doc, schema, nullable, required, initial, id, path, override);
  const wide = override.wide || schema.type === "object" || schema.type === "array";
  const el = h(
    "div",
    { class: `field${input.check ? " check" : ""}${wide ? " wide" : ""}`, dataset: { field: path } },
    input.check ? [input.el, " ", h("label", { for: id }, caption)] : [h("label", { for: id }, caption), input.el],
    hint,
    error,
  );
  return {
    el,
    read: input.read,
    error(message) {
      fill(error, message || "");
      el.classList.toggle("invalid", Boolean(message));
    },
  };
}

function control(doc, schema, nullable, required, initial, id, path, override) {
  const base = { id, name: path };
  if (schema.enum && schema.type !== "array") {
    const blank = !required || initial === undefined;
    const select = h(
      "select",
      base,
      blank ? h("option", { value: "" }, initial === undefined ? "—" : `(default: ${initial})`) : null,
      schema.enum.map((v) => h("option", { value: String(v) }, String(v))),
    );
    if (required && initial !== undefined) select.value = String(initial);
    return { el: select, read: () => ({ value: select.value === "" ? undefined : enumValue(schema, select.value) }) };
  }
  if (schema.type === "boolean") {
    if (nullable) {
      const select = h("select", base, h("option", { value: "" }, "(unchanged)"), h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no"));
      return { el: select, read: () => ({ value: select.value === "" ? undefined : select.value === "true" }) };
    }
    const box = h("input", { ...base, type: "checkbox", checked: Boolean(initial) });
    // Sent only when changed: a workflow trigger takes the fields not sent from its defaults.
    return { el: box, check: true, read: () => ({ value: box.checked === Boolean(initial) ? undefined : box.checked }) };
  }
  if (schema.type === "array") return arrayControl(doc, schema, base, initial);
  if (schema.type === "object") {
    const area = h("textarea", { ...base, rows: override.rows || 4, spellcheck: "false" });
    area.value = initial !== undefined ? JSON.stringify(initial, null, 2) : "{}";
    return {
      el: area,
      read() {
        const text = area.value.trim();
        if (!text) return { value: undefined };
        try {
          return { value: JSON.parse(text) };
        } catch (error) {
          return { problem: `is not JSON: ${error.message}` };
        }
      },
    };
  }
  const number = schema.type === "integer" || schema.type === "number";
  const attrs = { ...base, type: number ? "number" : schema.format === "uri" ? "url" : "text" };
  if (number) Object.assign(attrs, { step: schema.type === "integer" ? 1 : "any", min: schema.minimum, max: schema.maximum });
  else if (schema.maxLength) attrs.maxlength = schema.maxLength;
  if (schema.format === "date-time") attrs.placeholder = "2027-01-31T12:00:00Z";
  else if (initial !== undefined && initial !== null) attrs.placeholder = String(initial);
  let list = null;
  if (override.suggestions) {
    attrs.list = `${id}-list`;
    list = h("datalist", { id: attrs.list }, override.suggestions.map((s) => h("option", { value: s })));
  }
  const input = h("input", attrs);
  if (override.initial !== undefined) input.value = String(override.initial);
  return {
    el: list ? h("span", {}, input, list) : input,
    read() {
      const text = input.value.trim();
      if (text === "") return { value: required && !number ? "" : undefined };
      if (!number) return { value: text };
      const value = Number(text);
      return Number.isNaN(value) || input.validity.badInput ? { problem: "must be a number" } : { value };
    },
  };
}

function arrayControl(doc, schema, base, initial) {
  const items = resolve(doc, schema.items || {});
  if (items.enum) {
    const chosen = new Set(initial || []);
    const boxes = items.enum.map((v) => h("input", { type: "checkbox", value: String(v), checked: chosen.has(v), name: base.name }));
    const el = h("span", { id: base.id }, boxes.map((box) => h("label", { class: "inline" }, box, ` ${box.value} `)));
    return { el, read: () => ({ value: boxes.filter((b) => b.checked).map((b) => b.value) }) };
  }
  const input = h("input", { ...base, type: "text", placeholder: initial ? initial.join(", ") : "comma-separated" });
  return {
    el: input,
    read() {
      const text = input.value.trim();
      return { value: text ? text.split(",").map((s) => s.trim()).filter(Boolean) : undefined };
    },
  };
}

function enumValue(schema, text) {
  const found = schema.enum.find((v) => String(v) === text);
  return found === undefined ? text : found;
}

function setPath(target, path, value) {
  const parts = path.split(".");
  let at = target;
  for (const part of parts.slice(0, -1)) at = at[part] = at[part] || {};
  at[parts[parts.length - 1]] = value;
}

function label(name) {
  const text = name.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
