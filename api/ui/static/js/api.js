// The node's HTTP API, as the console calls it.
//
// The API key is kept in sessionStorage: it lives as long as the tab, is not sent by the
// browser on its own (no cookie, so no cross-site request can use it), and goes out only
// in the X-API-Key header of the console's own calls.

const KEY = "amas.key";
export const BASE = "/api/v1";

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** A refusal in the seed's error envelope (or a failure to reach the node). */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "HTTP_ERROR";
    this.details = error.details || {};
    this.requestId = error.request_id || null;
  }

  /** Each problem as {parameter, message}: a 422's list, or the one parameter a 400 names. */
  get problems() {
    if (Array.isArray(this.details.errors)) return this.details.errors;
    if (this.details.parameter) return [{ parameter: this.details.parameter, message: this.message }];
    return [];
  }
}

/** `?a=1&b=2` from an object, leaving out empty values; arrays repeat the name. */
export function query(params = {}) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Call `method path` (under /api/v1) with the session's key: the JSON answer, or an ApiError. */
export async function call(method, path, { body, params, headers = {}, signal } = {}) {
  const sent = { "X-API-Key": session.key || "", Accept: "application/json", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${BASE}${path}${query(params)}`, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { code: "UNREACHABLE", message: `the node does not answer (${error.message})` });
  }
  const type = response.headers.get("content-type") || "";
  const payload = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = payload && payload.error ? payload.error : { message: `HTTP ${response.status}` };
    const refusal = new ApiError(response.status, error);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("amas:unauthorized", { detail: refusal }));
    throw refusal;
  }
  return payload;
}

export const get = (path, params, options = {}) => call("GET", path, { params, ...options });
export const post = (path, body, options = {}) => call("POST", path, { body, ...options });
export const put = (path, body) => call("PUT", path, { body });
export const patch = (path, body) => call("PATCH", path, { body });
export const del = (path) => call("DELETE", path);

let documentPromise = null;

/** The node's OpenAPI document (the console's forms are built from it), fetched once. */
export function openapi() {
  if (!documentPromise) {
    documentPromise = fetch(`${BASE}/openapi.json`, { cache: "no-store" }).then((r) => {
      if (!r.ok) throw new ApiError(r.status, { message: "the OpenAPI document did not load" });
      return r.json();
    });
    documentPromise.catch(() => {
      documentPromise = null;
    });
  }
  return documentPromise;
}
