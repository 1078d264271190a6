// The request bodies' JSON Schemas, read from the node's own OpenAPI document, and a
// check of a value against one: the console's forms refuse what the API would, with
// the same limits (and the node's own answer is shown per field for anything else).

/** The JSON body schema of `method path` (a path as the document writes it). */
export function bodySchema(doc, method, path) {
  const operation = doc.paths[path] && doc.paths[path][method.toLowerCase()];
  if (!operation) throw new Error(`the API has no ${method} ${path}`);
  const content = operation.requestBody && operation.requestBody.content["application/json"];
  if (!content) throw new Error(`${method} ${path} takes no JSON body`);
  return resolve(doc, content.schema);
}

/** The schema of query parameter `name` of `method path`. */
export function parameterSchema(doc, method, path, name) {
  const operation = doc.paths[path][method.toLowerCase()];
  const parameter = (operation.parameters || []).find((p) => p.name === name);
  return parameter ? resolve(doc, parameter.schema) : null;
}

/** `schema` with its $ref followed (one level: the components are flat). */
export function resolve(doc, schema) {
  if (!schema || !schema.$ref) return schema;
  const name = schema.$ref.split("/").pop();
  const { $ref, ...rest } = schema;
  return { ...doc.components.schemas[name], ...rest };
}

/** The schema without its `null` alternative, and whether null was allowed. */
export function nonNull(doc, schema) {
  schema = resolve(doc, schema);
  if (schema && Array.isArray(schema.anyOf)) {
    const others = schema.anyOf.filter((s) => s.type !== "null");
    if (others.length === 1) {
      const { anyOf, ...rest } = schema;
      return { schema: { ...resolve(doc, others[0]), ...rest }, nullable: others.length < schema.anyOf.length };
    }
  }
  return { schema, nullable: false };
}

/** The values an enum (or an array of enums) allows, or null. */
export function choices(doc, schema) {
  const plain = nonNull(doc, schema).schema;
  if (plain.enum) return plain.enum;
  if (plain.type === "array" && plain.items) return resolve(doc, plain.items).enum || null;
  return null;
}

/** The problems of `value` against `schema`, as [{parameter, message}] ("where" dotted). */
export function validate(doc, schema, value, where = "") {
  const { schema: plain, nullable } = nonNull(doc, schema);
  const problems = [];
  const say = (message) => problems.push({ parameter: where || "body", message });
  if (value === null || value === undefined) {
    if (!nullable && value === null) say("may not be empty");
    return problems;
  }
  if (plain.enum && !plain.enum.includes(value)) {
    say(`must be one of ${plain.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    return problems;
  }
  switch (plain.type) {
    case "string":
      if (typeof value !== "string") return [{ parameter: where, message: "must be text" }];
      if (plain.minLength !== undefined && value.length < plain.minLength)
        say(plain.minLength === 1 ? "is required" : `needs at least ${plain.minLength} characters`);
      if (plain.maxLength !== undefined && value.length > plain.maxLength) say(`takes at most ${plain.maxLength} characters`);
      if (plain.format === "uri" && !isUrl(value)) say("must be a URL (http://… or https://…)");
      if (plain.format === "date-time" && Number.isNaN(Date.parse(value))) say("must be a date and time (ISO 8601)");
      break;
    case "integer":
    case "number":
      if (typeof value !== "number" || Number.isNaN(value)) return [{ parameter: where, message: "must be a number" }];
      if (plain.type === "integer" && !Number.isInteger(value)) say("must be a whole number");
      if (plain.minimum !== undefined && value < plain.minimum) say(`must be at least ${plain.minimum}`);
      if (plain.maximum !== undefined && value > plain.maximum) say(`must be at most ${plain.maximum}`);
      if (plain.exclusiveMinimum !== undefined && value <= plain.exclusiveMinimum) say(`must be more than ${plain.exclusiveMinimum}`);
      if (plain.exclusiveMaximum !== undefined && value >= plain.exclusiveMaximum) say(`must be less than ${plain.exclusiveMaximum}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") say("must be true or false");
      break;
    case "array":
      if (!Array.isArray(value)) return [{ parameter: where, message: "must be a list" }];
      if (plain.minItems !== undefined && value.length < plain.minItems) say(`needs at least ${plain.minItems}`);
      if (plain.maxItems !== undefined && value.length > plain.maxItems) say(`takes at most ${plain.maxItems}`);
      value.forEach((item, n) => {
        for (const p of validate(doc, plain.items || {}, item, where)) problems.push({ ...p, message: `item ${n + 1} ${p.message}` });
      });
      break;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) return [{ parameter: where, message: "must be a JSON object" }];
      for (const name of plain.required || []) {
        if (value[name] === undefined) problems.push({ parameter: join(where, name), message: "is required" });
      }
      for (const [name, inner] of Object.entries(value)) {
        const property = (plain.properties || {})[name];
        if (property) problems.push(...validate(doc, property, inner, join(where, name)));
        else if (plain.additionalProperties === false) problems.push({ parameter: join(where, name), message: "is not a field of this form" });
      }
      break;
    default:
      break;
  }
  return problems;
}

function join(where, name) {
  return where ? `${where}.${name}` : name;
}

function isUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
