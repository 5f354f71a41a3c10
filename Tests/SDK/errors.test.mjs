// How HTTP answers, DWT error codes and network failures become ScanBridgeErrors.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { answer, loadSDK, replayFetch } from "./support.mjs";

const sdk = await loadSDK();
const base = "http://127.0.0.1:18622";
let fetch = null;
afterEach(() => { fetch?.restore(); fetch = null; });

async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof sdk.ScanBridgeError, `not a ScanBridgeError: ${error}`);
    assert.equal(error.name, "ScanBridgeError");
    return error;
  }
  assert.fail("expected a ScanBridgeError");
}

test("an error answer with a DWT body keeps the service's message, code and status", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  fetch = replayFetch([{ method: "GET", url: `${base}/api/buffer/9/thumbnail?size=240`,
                         answer: answer(404, { code: -1032, message: "Image 9 does not exist" }) }]);
  const error = await failure(bridge.request("GET", bridge.thumbnailUrl(9)));
  assert.deepEqual({ kind: error.kind, code: error.code, status: error.status, message: error.message },
                   { kind: "http", code: -1032, status: 404, message: "Image 9 does not exist" });
  fetch.done();
});

test("a 403 naming the page's origin is an origin refusal; other 403s are plain HTTP errors", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  fetch = replayFetch([
    { method: "GET", url: `${base}/api/server`,
      answer: answer(403, { code: -1016, message: "Origin https://shop.example is not allowed by this ScanBridge" }) },
    { method: "GET", url: `${base}/api/server`, answer: answer(403, { code: -1043, message: "Wrong password" }) },
  ]);
  const refused = await failure(bridge.serverInfo());
  assert.equal(refused.kind, "origin-refused");
  assert.equal(refused.code, -1016);
  const other = await failure(bridge.serverInfo());
  assert.equal(other.kind, "http");
  assert.equal(other.code, -1043);
  fetch.done();
});

test("an error answer without a JSON body is described by its status line, code -1", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  fetch = replayFetch([{ method: "DELETE", url: `${base}/api/buffer/1`,
                         answer: answer(502, "<html>proxy error</html>", { statusText: "Bad Gateway", contentType: "text/html" }) }]);
  const error = await failure(bridge.deletePage(1));
  assert.deepEqual({ kind: error.kind, code: error.code, status: error.status, message: error.message },
                   { kind: "http", code: -1, status: 502, message: "HTTP 502 Bad Gateway" });
  fetch.done();
});

test("a request the network fails is 'absent' and keeps the cause; an aborted one is 'aborted'", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  const cause = new TypeError("fetch failed");
  const aborted = new DOMException("The operation was aborted.", "AbortError");
  fetch = replayFetch([
    { method: "GET", url: `${base}/api/cameras`, answer: cause },
    { method: "GET", url: `${base}/api/cameras`, answer: aborted },
  ]);
  const absent = await failure(bridge.listCameras());
  assert.equal(absent.kind, "absent");
  assert.equal(absent.cause, cause);
  assert.equal(absent.message, `The service at ${base} did not answer: fetch failed`);
  const stopped = await failure(bridge.listCameras());
  assert.equal(stopped.kind, "aborted");
  assert.equal(stopped.cause, aborted);
  fetch.done();
});

test("connect stops at an origin refusal instead of trying the next endpoint", async () => {
  fetch = replayFetch([{ method: "GET", url: "https://127.0.0.1:18623/api/server",
                         answer: answer(403, { code: -1016, message: "Origin http://x.example is not allowed" }) }]);
  const error = await failure(sdk.connect());
  assert.equal(error.kind, "origin-refused");
  assert.equal(error.status, 403);
  fetch.done();
});

test("connect with no service answering is 'absent', names every endpoint tried and how to install", async () => {
  fetch = replayFetch([
    { method: "GET", url: "https://127.0.0.1:18623/api/server", answer: new TypeError("fetch failed") },
    { method: "GET", url: "http://127.0.0.1:18622/api/server", answer: answer(500, "", { statusText: "Internal Server Error" }) },
  ]);
  const error = await failure(sdk.connect());
  assert.equal(error.kind, "absent");
  assert.match(error.message, /^ScanBridge is not running or not reachable \(https:\/\/127\.0\.0\.1:18623: fetch failed; http:\/\/127\.0\.0\.1:18622: HTTP 500 Internal Server Error\)\. /);
  assert.match(error.message, /scanbridge serve/);
  fetch.done();
});

test("connect gives up on an endpoint after timeoutMs", async () => {
  fetch = replayFetch([{ method: "GET", url: "http://127.0.0.1:1/api/server", answer: (init) => new Promise((_, reject) => {
    init.signal.addEventListener("abort", () => reject(init.signal.reason));
  }) }]);
  const started = Date.now();
  const error = await failure(sdk.connect({ endpoints: ["http://127.0.0.1:1"], timeoutMs: 50 }));
  assert.equal(error.kind, "absent");
  assert.match(error.message, /http:\/\/127\.0\.0\.1:1: timed out/);
  assert.ok(Date.now() - started < 3000);
  fetch.done();
});

test("ScanBridgeError defaults: kind http, code -1, status 0, no cause", () => {
  const error = new sdk.ScanBridgeError("x");
  assert.deepEqual({ kind: error.kind, code: error.code, status: error.status, hasCause: "cause" in error },
                   { kind: "http", code: -1, status: 0, hasCause: false });
  assert.ok(error instanceof Error);
});
