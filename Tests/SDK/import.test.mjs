// The SDK's imports against answers shaped like the service's (Tests/Conformance/test_buffer_import.py
// drives the real routes): what they send and what they return.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answer, loadSDK, replayFetch } from "./support.mjs";

const sdk = await loadSDK();
const base = "http://127.0.0.1:18622";

function entry(id, uid, index, job = "j9") {
  return { id, uid, index, width: 300 + id, height: 200, job, thumbnail: `/api/buffer/${id}/thumbnail`,
           url: `/api/device/scanners/jobs/${job}/next-page?page=${uid}` };
}

test("importToBuffer posts the file's bytes with its options and returns the pages as scanned pages", async () => {
  const file = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d]);
  const fetch = replayFetch([
    { method: "POST", url: `${base}/api/buffer/import?insertPos=1&dpi=150&password=s%C3%A9same`,
      answer: answer(201, [entry(4, "a4", 1), entry(5, "a5", 2)]) },
    { method: "POST", url: `${base}/api/buffer/import?`, answer: answer(201, [entry(6, "a6", 3, "j10")]) },
  ]);
  const bridge = new sdk.ScanBridge(base, {});
  const pages = await bridge.importToBuffer(file, { at: 1, dpi: 150, pdfPassword: "sésame" });
  assert.equal(fetch.requests[0].init.body, file, "the bytes as given, not re-encoded");
  assert.equal(fetch.requests[0].headers["Content-Type"], "application/octet-stream");
  assert.deepEqual(pages.map((p) => [p.id, p.uid, p.job, p.pageNumber, p.width, p.height]),
                   [[4, "a4", "j9", 1, 304, 200], [5, "a5", "j9", 2, 305, 200]]);
  assert.equal(pages[1].url, `${base}/api/device/scanners/jobs/j9/next-page?page=a5`);
  assert.equal(pages[1].thumbnailUrl, `${base}/api/buffer/5/thumbnail?size=240`);
  const [only] = await bridge.importToBuffer(new Blob([file]));
  assert.deepEqual([only.id, only.job, only.pageNumber], [6, "j10", 1]);
  fetch.done();
});

test("importToBuffer turns a refused PDF password into a ScanBridgeError with the service's code", async () => {
  const refusal = { code: -1043, message: "The PDF's password is wrong", statusCode: 403 };
  const fetch = replayFetch([{ method: "POST", url: `${base}/api/buffer/import?password=nope`, answer: answer(403, refusal) }]);
  const bridge = new sdk.ScanBridge(base, {});
  await assert.rejects(bridge.importToBuffer(new Uint8Array([1]), { pdfPassword: "nope" }), (error) => {
    assert.ok(error instanceof sdk.ScanBridgeError);
    assert.equal(error.kind, "http");
    assert.equal(error.status, 403);
    assert.equal(error.code, -1043);
    assert.match(error.message, /password is wrong/);
    return true;
  });
  fetch.done();
});

test("importFile sends the same query to the document's import", async () => {
  const fetch = replayFetch([
    { method: "POST", url: `${base}/api/storage/documents/d1/import?insertPos=0&dpi=300&password=pw`,
      answer: answer(200, { uid: "d1", pages: [{ uid: "p1" }] }) },
  ]);
  const bridge = new sdk.ScanBridge(base, {});
  const info = await bridge.document("d1").importFile(new Uint8Array([1]), { at: 0, dpi: 300, pdfPassword: "pw" });
  assert.deepEqual(info.pages, [{ uid: "p1" }]);
  fetch.done();
});
