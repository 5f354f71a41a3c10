// The SDK's camera calls against answers shaped like the service's (the live conformance suite
// drives the real service through a stand-in camera): what they ask for and what they return.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answer, loadSDK, replayFetch } from "./support.mjs";

const sdk = await loadSDK();
const base = "http://127.0.0.1:18622";
const camera = "v4l2:Cam%20One@usb-1";
const cameraURL = `${base}/api/cameras/${encodeURIComponent(camera)}`;

function info(id, uid, pageNumber, width = 320, height = 240) {
  return { imageId: id, imageuid: uid, imageInfo: { ImageWidth: width, ImageLength: height, ImageLayout: { PageNumber: pageNumber } } };
}

test("getCamera names the camera in one encoded path segment", async () => {
  const listed = { id: camera, name: "Cam One", mediaTypes: [{ mediaType: "MJPG", supported: true, resolutions: [{ width: 640, height: 480 }] }] };
  const fetch = replayFetch([{ method: "GET", url: cameraURL, answer: answer(200, listed) }]);
  const bridge = new sdk.ScanBridge(base, {});
  assert.deepEqual(await bridge.getCamera(camera), listed);
  fetch.done();
});

test("captureStill sends only the options given and returns the page with its URLs", async () => {
  const still = { jobuid: "j1", camera, mediaType: "YUYV", width: 160, height: 120, page: info(7, "u7", 1, 160, 120) };
  const fetch = replayFetch([
    { method: "POST", url: `${cameraURL}/capture`, json: { mediaType: "YUYV", width: 160, height: 120 }, answer: answer(201, still) },
    { method: "POST", url: `${cameraURL}/capture`, json: {}, answer: answer(201, { ...still, mediaType: "MJPG" }) },
  ]);
  const bridge = new sdk.ScanBridge(base, {});
  const page = await bridge.captureStill(camera, { mediaType: "YUYV", width: 160, height: 120 });
  assert.equal(page.id, 7);
  assert.equal(page.job, "j1");
  assert.equal(page.mediaType, "YUYV");
  assert.deepEqual([page.width, page.height, page.pageNumber], [160, 120, 1]);
  assert.equal(page.url, `${base}/api/device/scanners/jobs/j1/next-page?page=u7`);
  assert.equal(page.thumbnailUrl, `${base}/api/buffer/7/thumbnail?size=240`);
  assert.equal((await bridge.captureStill(camera)).mediaType, "MJPG");
  fetch.done();
});

test("captureStill turns the service's refusal into a ScanBridgeError with its code", async () => {
  const refusal = { code: -1010, message: "Camera x does not offer 1x1 in YUYV; it offers 320x240", statusCode: 400 };
  const fetch = replayFetch([{ method: "POST", url: `${cameraURL}/capture`, answer: answer(400, refusal) }]);
  const bridge = new sdk.ScanBridge(base, {});
  await assert.rejects(bridge.captureStill(camera, { mediaType: "YUYV", width: 1, height: 1 }), (error) => {
    assert.ok(error instanceof sdk.ScanBridgeError);
    assert.equal(error.code, -1010);
    assert.match(error.message, /320x240/);
    return true;
  });
  fetch.done();
});

test("captureStream yields each page, then reports a camera that failed mid-stream", async () => {
  const jobURL = `${base}/api/cameras/jobs/j2`;
  const fetch = replayFetch([
    { method: "POST", url: `${base}/api/cameras/jobs`, json: { device: camera, mediaType: "MJPG", maxPages: -1, interval: 50 },
      answer: answer(201, { jobuid: "j2", status: "running" }) },
    { method: "GET", url: `${jobURL}/next-page-info`, answer: answer(200, [info(1, "a", 1)]) },
    { method: "GET", url: `${jobURL}/next-page-info`, answer: answer(200, [info(2, "b", 2)]) },
    { method: "GET", url: `${jobURL}/next-page-info`, answer: answer(204) },
    { method: "GET", url: jobURL, answer: answer(200, { status: "faulted", code: -1023, message: "The camera is gone" }) },
  ]);
  const bridge = new sdk.ScanBridge(base, {});
  const pages = [];
  const jobs = [];
  await assert.rejects(async () => {
    for await (const page of bridge.captureStream(camera, { mediaType: "MJPG", maxPages: -1, interval: 50, onJob: (job) => jobs.push(job) })) {
      pages.push(page);
    }
  }, (error) => error instanceof sdk.ScanBridgeError && error.code === -1023 && /camera is gone/.test(error.message));
  assert.deepEqual(jobs, ["j2"]);
  assert.deepEqual(pages.map((page) => [page.id, page.pageNumber]), [[1, 1], [2, 2]]);
  fetch.done();
});

test("leaving a capture stream early cancels its job", async () => {
  const jobURL = `${base}/api/cameras/jobs/j3`;
  const fetch = replayFetch([
    { method: "POST", url: `${base}/api/cameras/jobs`, json: { device: camera }, answer: answer(201, { jobuid: "j3", status: "running" }) },
    { method: "GET", url: `${jobURL}/next-page-info`, answer: answer(200, [info(5, "e", 1)]) },
    { method: "PATCH", url: `${base}/api/device/scanners/jobs/j3`, json: { status: "canceled" }, answer: answer(200, { status: "canceled" }) },
  ]);
  const bridge = new sdk.ScanBridge(base, {});
  for await (const page of bridge.captureStream(camera)) {
    assert.equal(page.id, 5);
    break;
  }
  fetch.done();
});
