// How the SDK builds the URLs it calls and hands out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answer, loadSDK, replayFetch } from "./support.mjs";

const sdk = await loadSDK();
const base = "http://127.0.0.1:18622";

test("paths are resolved against the API root; absolute URLs are kept", () => {
  const bridge = new sdk.ScanBridge(base, {});
  assert.equal(bridge.url("/api/server"), `${base}/api/server`);
  assert.equal(bridge.url("https://elsewhere.example/x?y=1"), "https://elsewhere.example/x?y=1");
  assert.equal(bridge.url("http://127.0.0.1:9/a"), "http://127.0.0.1:9/a");
});

test("thumbnail URLs name the buffer id and the longest side, 240 by default", () => {
  const bridge = new sdk.ScanBridge(base, {});
  assert.equal(bridge.thumbnailUrl(7), `${base}/api/buffer/7/thumbnail?size=240`);
  assert.equal(bridge.thumbnailUrl(12, 96), `${base}/api/buffer/12/thumbnail?size=96`);
});

test("connect tries https on 18623, then http on 18622, and keeps the first that answers", async () => {
  const server = { version: "1.2.3", ioEngine: "epoll", logLevel: 1, uptime: 5 };
  const fetch = replayFetch([
    { method: "GET", url: "https://127.0.0.1:18623/api/server", answer: new TypeError("fetch failed") },
    { method: "GET", url: "http://127.0.0.1:18622/api/server", answer: answer(200, server) },
  ]);
  try {
    const bridge = await sdk.connect();
    assert.equal(bridge.base, "http://127.0.0.1:18622");
    assert.deepEqual(bridge.server, server);
    fetch.done();
  } finally { fetch.restore(); }
});

test("connect builds endpoints from host and ports, and strips trailing slashes of given endpoints", async () => {
  let fetch = replayFetch([
    { method: "GET", url: "https://localhost:4443/api/server", answer: answer(200, { version: "x" }) },
  ]);
  try {
    const bridge = await sdk.connect({ host: "localhost", httpsPort: 4443, httpPort: 8080 });
    assert.equal(bridge.base, "https://localhost:4443");
    fetch.done();
  } finally { fetch.restore(); }

  fetch = replayFetch([
    { method: "GET", url: "http://127.0.0.1:5000/api/server", answer: new TypeError("fetch failed") },
    { method: "GET", url: "http://127.0.0.1:5001/api/server", answer: answer(200, {}) },
  ]);
  try {
    const bridge = await sdk.connect({ endpoints: ["http://127.0.0.1:5000/", "http://127.0.0.1:5001//"] });
    assert.equal(bridge.base, "http://127.0.0.1:5001");
    assert.equal(bridge.url("/demo"), "http://127.0.0.1:5001/demo");
    fetch.done();
  } finally { fetch.restore(); }
});

test("requests carry JSON bodies and headers; the scanner list can be refreshed", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  const fetch = replayFetch([
    { method: "GET", url: `${base}/api/device/scanners`, answer: answer(200, []) },
    { method: "GET", url: `${base}/api/device/scanners?refresh=true`, answer: answer(200, [{ name: "a", type: 16, device: "d" }]) },
    { method: "POST", url: `${base}/api/buffer/3/rotate`, json: { degrees: 90 }, answer: answer(200, { id: 3, width: 2, height: 1 }) },
    { method: "POST", url: `${base}/api/buffer/reorder`, json: { ids: [2, 1] }, answer: answer(204) },
    { method: "DELETE", url: `${base}/api/buffer/3`, answer: answer(204) },
  ]);
  try {
    assert.deepEqual(await bridge.listScanners(), []);
    assert.deepEqual(await bridge.listScanners({ refresh: true }), [{ name: "a", type: 16, device: "d" }]);
    assert.deepEqual(await bridge.rotatePage(3, 90), { id: 3, width: 2, height: 1 });
    await bridge.reorderPages([2, 1]);
    await bridge.deletePage(3);
    assert.equal(fetch.requests[2].headers["Content-Type"], "application/json");
    assert.equal(fetch.requests[0].headers["Content-Type"], undefined);
    fetch.done();
  } finally { fetch.restore(); }
});

test("documents send their password header and put the content type and options in the query", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  const fetch = replayFetch([
    { method: "POST", url: `${base}/api/storage/documents`, json: { password: "pw" }, answer: answer(201, { uid: "doc1" }) },
    { method: "POST", url: `${base}/api/storage/documents/doc1/pages`, json: { source: "u1", insertPos: 2 },
      answer: answer(200, { uid: "doc1", pages: [{ uid: "p1" }] }) },
    { method: "POST", url: `${base}/api/storage/documents/doc1/pages`, json: { source: "u2", insertPos: 3 },
      answer: answer(200, { uid: "doc1", pages: [{ uid: "p1" }, { uid: "p2" }] }) },
    { method: "GET", url: `${base}/api/storage/documents/doc1/content?type=image%2Ftiff&quality=50`,
      answer: new Response(new Uint8Array([73, 73, 42, 0]), { status: 200, headers: { "Content-Type": "image/tiff" } }) },
  ]);
  try {
    const doc = await bridge.createDocument({ password: "pw" });
    assert.equal(doc.uid, "doc1");
    const info = await doc.insert(["u1", { url: "u2" }], { at: 2 });
    assert.deepEqual(info.pages.map((p) => p.uid), ["p1", "p2"]);
    const blob = await doc.content({ type: "image/tiff", query: { quality: "50" } });
    assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [73, 73, 42, 0]);
    for (const request of fetch.requests.slice(1)) assert.equal(request.headers["DWT-DOC-PASSWORD"], "pw");
    fetch.done();
  } finally { fetch.restore(); }
});

test("OCR and PDF/A options go into the document's creation and the content query", async () => {
  const bridge = new sdk.ScanBridge(base, {});
  const fetch = replayFetch([
    { method: "POST", url: `${base}/api/storage/documents`, json: { ocr: "eng", pdfa: true }, answer: answer(201, { uid: "doc2" }) },
    { method: "GET", url: `${base}/api/storage/documents/doc2/content?type=application%2Fpdf&ocr=eng%2Bdeu&pdfa=false`,
      answer: new Response(new Uint8Array([37, 80, 68, 70]), { status: 200, headers: { "Content-Type": "application/pdf" } }) },
    { method: "GET", url: `${base}/api/storage/documents/doc2/content?type=text%2Fplain&ocr=eng`,
      answer: answer(200, "Hello\f") },
    { method: "GET", url: `${base}/api/server`, answer: answer(200, { version: "1", ioEngine: "epoll", logLevel: 1, uptime: 1, ocrLanguages: ["deu", "eng"] }) },
  ]);
  try {
    const doc = await bridge.createDocument({ ocr: "eng", pdfa: true });
    const pdf = await doc.content({ ocr: "eng+deu", pdfa: false });
    assert.deepEqual([...new Uint8Array(await pdf.arrayBuffer())], [37, 80, 68, 70]);
    assert.equal(await (await doc.content({ type: "text/plain", ocr: "eng" })).text(), "Hello\f");
    assert.deepEqual(await bridge.ocrLanguages(), ["deu", "eng"]);
    fetch.done();
  } finally { fetch.restore(); }
});
