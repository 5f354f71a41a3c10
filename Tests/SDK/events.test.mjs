// How the SDK turns the service's server-sent events into handler calls.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { loadSDK, RecordingEventSource } from "./support.mjs";

const sdk = await loadSDK();
const base = "http://127.0.0.1:18622";
beforeEach(() => { globalThis.EventSource = RecordingEventSource; RecordingEventSource.last = null; });
afterEach(() => { delete globalThis.EventSource; });

test("subscribe listens on /api/events to every event type by default", () => {
  const stop = new sdk.ScanBridge(base, {}).subscribe(() => {});
  const source = RecordingEventSource.last;
  assert.equal(source.url, `${base}/api/events`);
  assert.deepEqual([...source.listeners.keys()], ["job", "page", "buffer", "upload", "ocr", "reset", "hello"]);
  assert.equal(source.closed, false);
  stop();
  assert.equal(source.closed, true);
});

test("event data is parsed as JSON, with the event's type and id", () => {
  const received = [];
  new sdk.ScanBridge(base, {}).subscribe((event) => received.push(event));
  const source = RecordingEventSource.last;
  source.emit("upload", '{"upload":"u1","state":"uploading","sent":10,"total":40}', "17");
  source.emit("buffer", '{"change":"removed","ids":[3]}', "18");
  assert.deepEqual(received, [
    { type: "upload", id: "17", data: { upload: "u1", state: "uploading", sent: 10, total: 40 } },
    { type: "buffer", id: "18", data: { change: "removed", ids: [3] } },
  ]);
});

test("data that is not JSON is handed over as its text", () => {
  const received = [];
  new sdk.ScanBridge(base, {}).subscribe((event) => received.push(event));
  RecordingEventSource.last.emit("hello", "welcome, not JSON", "1");
  RecordingEventSource.last.emit("reset", "", "2");
  assert.deepEqual(received, [{ type: "hello", id: "1", data: "welcome, not JSON" }, { type: "reset", id: "2", data: "" }]);
});

test("only the types asked for are listened to", () => {
  const received = [];
  new sdk.ScanBridge(base, {}).subscribe((event) => received.push(event.type), { types: ["upload"] });
  const source = RecordingEventSource.last;
  assert.deepEqual([...source.listeners.keys()], ["upload"]);
  source.emit("job", "{}");
  source.emit("upload", "{}");
  assert.deepEqual(received, ["upload"]);
});
