// The live feed: GET /api/v1/events/stream, read with fetch so that the key travels in
// the X-API-Key header (EventSource cannot set headers, and a key in a URL ends up in
// logs and history). One stream per tab; views subscribe to the event types they show.
//
// Every event carries its log position as the SSE id. After a broken connection the
// feed reconnects with Last-Event-ID, so it misses nothing and sees nothing twice.

import { ApiError, BASE } from "./api.js";

const MAX_RETRY_MS = 30000;

export class Live {
  constructor() {
    this.subscribers = new Set();
    this.last = null; // the position of the last event received
    this.retry = 2000;
    this.controller = null;
    this.onstate = () => {};
    this.onunauthorized = () => {};
  }

  /** Open the stream with `key`: resolves with the `ready` event's data (who the key is),
   * or rejects with the ApiError the node answered. Afterwards it stays open, and
   * reconnects on its own, until close(). */
  start(key) {
    this.close();
    this.key = key;
    this.last = null;
    this.controller = new AbortController();
    return new Promise((resolve, reject) => {
      this.run(this.controller.signal, resolve, reject);
    });
  }

  close() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.state("off");
  }

  /** Call `fn(envelope)` for each event whose type matches one of `patterns` ("task.*",
   * "workflow.logged"); returns the function that ends the subscription. */
  subscribe(patterns, fn) {
    const matches = patterns.map((p) => (p.endsWith("*") ? (t) => t.startsWith(p.slice(0, -1)) : (t) => t === p));
    const subscriber = { wants: (type) => matches.some((m) => m(type)), fn };
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  state(name) {
    this.onstate(name);
  }

  async run(signal, resolve, reject) {
    let first = true;
    let wait = this.retry;
    while (!signal.aborted) {
      try {
        await this.connect(signal, (ready) => {
          wait = this.retry;
          this.state("live");
          if (first) resolve(ready);
          first = false;
        });
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          this.state("off");
          if (first) reject(error);
          else this.onunauthorized(error);
          return;
        }
        if (first) {
          reject(error);
          return;
        }
      }
      if (signal.aborted) return;
      this.state("reconnecting");
      await new Promise((done) => setTimeout(done, wait));
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }

  async connect(signal, onready) {
    const headers = { "X-API-Key": this.key, Accept: "text/event-stream" };
    if (this.last !== null) headers["Last-Event-ID"] = String(this.last);
    let response;
    try {
      response = await fetch(`${BASE}/events/stream`, { headers, signal, cache: "no-store" });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, { code: "UNREACHABLE", message: `the node does not answer (${error.message})` });
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new ApiError(response.status, body.error || { message: `HTTP ${response.status}` });
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let match;
      while ((match = /\r?\n\r?\n/.exec(buffer))) {
        const block = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        this.dispatch(parse(block), onready);
      }
    }
  }

  dispatch(message, onready) {
    if (message.retry) this.retry = message.retry;
    if (!message.data) return; // a keep-alive comment
    const data = JSON.parse(message.data);
    if (message.event === "ready") {
      if (this.last === null) this.last = data.position;
      onready(data);
      return;
    }
    if (message.id) this.last = Number(message.id);
    for (const subscriber of [...this.subscribers]) {
      if (!subscriber.wants(message.event)) continue;
      try {
        subscriber.fn(data);
      } catch (error) {
        console.warn("a view failed on an event", message.event, error);
      }
    }
  }
}

/** One server-sent event's fields (text/event-stream's rules: data lines joined). */
function parse(block) {
  const message = { event: "message", data: "", id: null, retry: null };
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) message.retry = Number(value);
  }
  message.data = data.join("\n");
  return message;
}
