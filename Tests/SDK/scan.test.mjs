// The scan iterator against ScanBridge's recorded answers to a two-page batch (the live Browser
// suite drives the real service): what it asks for, what it yields, when it cancels.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { answer, loadSDK, replayFetch } from "./support.mjs";

const sdk = await loadSDK();
const recording = JSON.parse(readFileSync(new URL("./recorded/scan-two-pages.json", import.meta.url), "utf8"));
const base = recording.base;
const [create, firstInfo, secondInfo, end, finalState] = recording.exchanges;
const job = JSON.parse(create.body).jobuid;
const jobURL = `${base}/api/device/scanners/jobs/${job}`;
const cancel = { method: "PATCH", url: jobURL, json: { status: "canceled" }, answer: answer(204) };

/** A recorded exchange as the fake network's expectation and answer. */
function replayed(exchange, override = {}) {
  const status = override.status ?? exchange.status;
  const body = override.body ?? exchange.body;
  return {
    method: exchange.method, url: `${base}${exchange.path}`, ...("json" in exchange ? { json: exchange.json } : {}),
    answer: status === 204 ? answer(204) : answer(status, body, { contentType: "application/json" }),
  };
}

async function collect(iterator, { stopAfter = Infinity } = {}) {
  const pages = [];
  for await (const page of iterator) {
    pages.push(page);
    if (pages.length >= stopAfter) break;
  }
  return pages;
}

// The scanner's `device` string as the list gave it, passed back unchanged.
const options = { device: create.json.device, config: create.json.config };

test("a batch yields each recorded page with its ids, size and URLs, then checks the job's outcome", async () => {
  const fetch = replayFetch(recording.exchanges.map((e) => replayed(e)));
  const jobs = [];
  try {
    const pages = await collect(new sdk.ScanBridge(base, {}).scan({ ...options, onJob: (j) => jobs.push(j) }));
    assert.deepEqual(jobs, [job]);
    const infos = [firstInfo, secondInfo].map((e) => JSON.parse(e.body)[0]);
    assert.deepEqual(pages, infos.map((info) => ({
      id: info.imageId, uid: info.imageuid, job, pageNumber: info.imageInfo.ImageLayout.PageNumber,
      width: info.imageInfo.ImageWidth, height: info.imageInfo.ImageLength,
      url: `${jobURL}/next-page?page=${info.imageuid}`,
      thumbnailUrl: `${base}/api/buffer/${info.imageId}/thumbnail?size=240`,
    })));
    assert.deepEqual(pages.map((p) => [p.id, p.pageNumber, p.width, p.height]), [[1, 1, 236, 295], [2, 2, 236, 295]]);
    assert.deepEqual(fetch.requests[0].json, { device: create.json.device, config: create.json.config, autoRun: true });
    fetch.done();
  } finally { fetch.restore(); }
});

test("a job that faulted after its pages throws a 'scan' error with the service's code, after those pages", async () => {
  const faulted = JSON.stringify({ code: -1060, message: "Paper jam (SANE_STATUS_JAMMED)", status: "faulted" });
  const fetch = replayFetch([replayed(create), replayed(firstInfo), replayed(end), replayed(finalState, { body: faulted })]);
  const pages = [];
  try {
    await assert.rejects(async () => { for await (const page of new sdk.ScanBridge(base, {}).scan(options)) pages.push(page); },
      (error) => {
        assert.ok(error instanceof sdk.ScanBridgeError);
        assert.equal(error.kind, "scan");
        assert.equal(error.code, -1060);
        assert.equal(error.message, "The scan stopped: Paper jam (SANE_STATUS_JAMMED)");
        return true;
      });
    assert.equal(pages.length, 1);
    fetch.done(); // and no cancel: the job had finished
  } finally { fetch.restore(); }
});

test("leaving the loop early cancels the job", async () => {
  const fetch = replayFetch([replayed(create), replayed(firstInfo), cancel]);
  try {
    const pages = await collect(new sdk.ScanBridge(base, {}).scan(options), { stopAfter: 1 });
    assert.equal(pages.length, 1);
    fetch.done();
  } finally { fetch.restore(); }
});

test("an error answer mid-batch is thrown as the service's error and the job is cancelled", async () => {
  const gone = JSON.stringify({ code: -1032, message: `Job ${job} does not exist` });
  const fetch = replayFetch([replayed(create), replayed(firstInfo), replayed(secondInfo, { status: 404, body: gone }), cancel]);
  try {
    const pages = [];
    await assert.rejects(async () => { for await (const page of new sdk.ScanBridge(base, {}).scan(options)) pages.push(page); },
      { name: "ScanBridgeError", kind: "http", code: -1032, status: 404 });
    assert.equal(pages.length, 1);
    fetch.done();
  } finally { fetch.restore(); }
});

// The abort listener cancels at once (the scanner stops even while no request is pending), and
// leaving the loop unfinished cancels again; the second answer does not matter.
test("aborting the signal cancels the job and ends the iteration as 'aborted'", async () => {
  const controller = new AbortController();
  const waiting = { ...replayed(secondInfo), answer: (init) => new Promise((_, reject) => {
    init.signal.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")));
  }) };
  const fetch = replayFetch([replayed(create), replayed(firstInfo), waiting, cancel, cancel]);
  try {
    const pages = [];
    await assert.rejects(async () => {
      for await (const page of new sdk.ScanBridge(base, {}).scan({ ...options, signal: controller.signal })) {
        pages.push(page);
        setTimeout(() => controller.abort(), 10);
      }
    }, { name: "ScanBridgeError", kind: "aborted" });
    assert.equal(pages.length, 1);
    assert.equal(fetch.requests.filter((r) => r.method === "PATCH").length, 2);
    fetch.done();
  } finally { fetch.restore(); }
});
