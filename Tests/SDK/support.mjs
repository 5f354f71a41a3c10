// Shared by the SDK tests: loads the SDK file the service embeds, and stands in for the two
// browser facilities the SDK talks to (fetch and EventSource) with recorded answers.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const assetsFolder = fileURLToPath(new URL("../../Sources/ScanBridgeService/Web/Assets/", import.meta.url));

/**
 * The SDK module, imported from a copy named .mjs: browsers load scanbridge.js as a module by
 * its `type="module"` or `import`, while Node decides by the file's extension.
 */
export async function loadSDK() {
  const copy = join(mkdtempSync(join(tmpdir(), "scanbridge-sdk-")), "scanbridge.mjs");
  copyFileSync(join(assetsFolder, "scanbridge.js"), copy);
  return import(pathToFileURL(copy).href);
}

/** A recorded HTTP answer: status, optional JSON body or raw text. */
export function answer(status, body, { statusText = "", contentType } = {}) {
  if (status === 204 || body === undefined) return new Response(null, { status, statusText });
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const type = contentType ?? (typeof body === "string" ? "text/plain" : "application/json");
  return new Response(text, { status, statusText, headers: { "Content-Type": type } });
}

/**
 * Installs a global `fetch` that answers the expected requests in order, from `exchanges`:
 * `[{method, url, json?, answer: Response | Error}]`. A request that differs from the next
 * expected one fails the test. Returns the log of requests made and a `done()` that checks
 * every exchange was used.
 */
export function replayFetch(exchanges) {
  const pending = [...exchanges];
  const requests = [];
  const original = globalThis.fetch;
  globalThis.fetch = async (url, init = {}) => {
    const method = init.method ?? "GET";
    // Only JSON bodies are strings; file bodies (Blob, bytes) are kept as they are in `init`.
    const json = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    requests.push({ method, url, json, headers: init.headers, init });
    const next = pending.shift();
    assert.ok(next, `unexpected request ${method} ${url}`);
    assert.equal(`${method} ${url}`, `${next.method} ${next.url}`);
    if ("json" in next) assert.deepEqual(json, next.json);
    if (init.signal?.aborted) throw init.signal.reason ?? new DOMException("aborted", "AbortError");
    if (next.answer instanceof Error) throw next.answer;
    return typeof next.answer === "function" ? next.answer(init) : next.answer;
  };
  return {
    requests,
    done() {
      globalThis.fetch = original;
      assert.deepEqual(pending.map((e) => `${e.method} ${e.url}`), [], "expected requests that were not made");
    },
    restore() { globalThis.fetch = original; },
  };
}

/** A stand-in for the browser's EventSource that the test drives by hand. */
export class RecordingEventSource {
  static last = null;

  constructor(url) {
    this.url = url;
    this.listeners = new Map();
    this.closed = false;
    RecordingEventSource.last = this;
  }

  addEventListener(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  /** Delivers a server-sent event as the browser would: `event: type`, `id:`, `data:`. */
  emit(type, data, lastEventId = "") {
    for (const listener of this.listeners.get(type) ?? []) listener({ type, data, lastEventId });
  }

  close() { this.closed = true; }
}

/**
 * Puts stand-ins for browser globals (navigator, document, location, isSecureContext) on
 * globalThis for the length of `body`, then puts back what was there.
 */
export async function withGlobals(globals, body) {
  const saved = Object.keys(globals).map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]);
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  try {
    return await body();
  } finally {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor); else delete globalThis[name];
    }
  }
}

/**
 * A `navigator` whose Local Network Access permission reads `states[name]` (a state, or a list
 * of states read one after the other); names not in `states` are unknown to it, as in browsers
 * without the permission. `asked` logs every name queried.
 */
export function permissionNavigator(states) {
  const asked = [];
  const queue = Object.fromEntries(Object.entries(states).map(([name, state]) => [name, [].concat(state)]));
  return {
    asked,
    permissions: {
      async query({ name }) {
        asked.push(name);
        if (!(name in queue)) throw new TypeError(`The provided value '${name}' is not a valid enum value of type PermissionName.`);
        const list = queue[name];
        return { state: list.length > 1 ? list.shift() : list[0] };
      },
    },
  };
}
