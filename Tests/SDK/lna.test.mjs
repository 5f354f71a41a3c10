// How connect() deals with Chrome's Local Network Access: reading the permission without asking,
// tagging requests to this computer, preferring plain HTTP once allowed, and telling a browser
// block apart from an absent service.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { answer, loadSDK, permissionNavigator, replayFetch, withGlobals } from "./support.mjs";

const sdk = await loadSDK();
const server = { version: "0.1.0", ioEngine: "epoll", logLevel: 1, uptime: 1 };
const httpsDefault = "https://127.0.0.1:18623/api/server";
const httpDefault = "http://127.0.0.1:18622/api/server";
let fetch = null;
afterEach(() => { fetch?.restore(); fetch = null; });

async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof sdk.ScanBridgeError, `not a ScanBridgeError: ${error}`);
    return error;
  }
  assert.fail("expected a ScanBridgeError");
}

/** A document whose permissions policy allows or denies the Local Network Access features. */
function framedDocument(allowed) {
  const features = ["camera", "local-network-access", "loopback-network", "local-network"];
  return { featurePolicy: { features: () => features, allowsFeature: (name) => (features.includes(name) ? allowed : true) } };
}

test("loopback hosts are 127.0.0.0/8, ::1 and localhost; LAN names and addresses are not", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "app.localhost", "[::1]", "::1"]) {
    assert.equal(sdk.isLoopbackHost(host), true, host);
  }
  for (const host of ["scanner.lan", "192.168.1.20", "10.0.0.1", "128.0.0.1", "127.0.0.1.example", "::2", "example.com"]) {
    assert.equal(sdk.isLoopbackHost(host), false, host);
  }
});

test("the permission is read as loopback-network for this computer, local-network for the LAN, then the older name", async () => {
  const navigator = permissionNavigator({ "local-network-access": "granted" });
  await withGlobals({ navigator }, async () => {
    assert.equal(await sdk.localNetworkAccess(), "granted");
    assert.equal(await sdk.localNetworkAccess({ host: "scanner.lan" }), "granted");
  });
  assert.deepEqual(navigator.asked, ["loopback-network", "local-network-access", "local-network", "local-network-access"]);

  const split = permissionNavigator({ "loopback-network": "denied", "local-network": "prompt", "local-network-access": "granted" });
  await withGlobals({ navigator: split }, async () => {
    assert.equal(await sdk.localNetworkAccess(), "denied");
    assert.equal(await sdk.localNetworkAccess({ host: "192.168.1.20" }), "prompt");
  });
  assert.deepEqual(split.asked, ["loopback-network", "local-network"]);
});

test("a browser without the permission, or without the Permissions API, reads as unsupported", async () => {
  await withGlobals({ navigator: permissionNavigator({}) }, async () => {
    assert.equal(await sdk.localNetworkAccess(), "unsupported");
  });
  await withGlobals({ navigator: {} }, async () => {
    assert.equal(await sdk.localNetworkAccess(), "unsupported");
  });
  await withGlobals({ navigator: undefined }, async () => {
    assert.equal(await sdk.localNetworkAccess(), "unsupported");
  });
});

test("requests to this computer say targetAddressSpace loopback; requests elsewhere say nothing", async () => {
  fetch = replayFetch([
    { method: "GET", url: "http://127.0.0.1:18622/api/server", answer: answer(200, server) },
    { method: "GET", url: "http://127.0.0.1:18622/api/cameras", answer: answer(200, []) },
    { method: "GET", url: "http://localhost:9/api/server", answer: answer(200, server) },
    { method: "GET", url: "http://scanner.lan:18622/api/server", answer: answer(200, server) },
    { method: "GET", url: "http://scanner.lan:18622/api/cameras", answer: answer(200, []) },
  ]);
  const loopback = await sdk.connect({ endpoints: ["http://127.0.0.1:18622"] });
  await loopback.listCameras();
  await sdk.connect({ endpoints: ["http://localhost:9"] });
  const lan = await sdk.connect({ endpoints: ["http://scanner.lan:18622"] });
  await lan.listCameras();
  const spaces = fetch.requests.map((r) => r.init.targetAddressSpace);
  assert.deepEqual(spaces, ["loopback", "loopback", "loopback", undefined, undefined]);
  fetch.done();
});

test("an HTTPS page the browser already allows tries plain HTTP on loopback first", async () => {
  const navigator = permissionNavigator({ "loopback-network": "granted" });
  await withGlobals({ navigator, location: { protocol: "https:" } }, async () => {
    fetch = replayFetch([{ method: "GET", url: httpDefault, answer: answer(200, server) }]);
    const bridge = await sdk.connect();
    assert.equal(bridge.base, "http://127.0.0.1:18622");
    fetch.done();
  });
});

test("https stays first while the permission is not granted, on an HTTP page, and for endpoints given in order", async () => {
  const cases = [
    [{ "loopback-network": "prompt" }, "https:", {}],
    [{ "loopback-network": "granted" }, "http:", {}],
    [{}, "https:", {}],
    [{ "loopback-network": "granted" }, "https:", { endpoints: ["https://127.0.0.1:18623", "http://127.0.0.1:18622"] }],
  ];
  for (const [states, protocol, options] of cases) {
    await withGlobals({ navigator: permissionNavigator(states), location: { protocol } }, async () => {
      fetch = replayFetch([{ method: "GET", url: httpsDefault, answer: answer(200, server) }]);
      const bridge = await sdk.connect(options);
      assert.equal(bridge.base, "https://127.0.0.1:18623", JSON.stringify({ states, protocol, options }));
      fetch.done();
    });
  }
});

test("a permission denied after the requests failed is 'network-blocked' with what the user can do", async () => {
  // The failed request is what makes the browser ask (or, headless, deny): read again afterwards.
  const navigator = permissionNavigator({ "loopback-network": ["prompt", "denied"] });
  await withGlobals({ navigator, isSecureContext: true, document: framedDocument(true) }, async () => {
    fetch = replayFetch([
      { method: "GET", url: httpsDefault, answer: new TypeError("Failed to fetch") },
      { method: "GET", url: httpDefault, answer: new TypeError("Failed to fetch") },
    ]);
    const error = await failure(sdk.connect());
    assert.equal(error.kind, "network-blocked");
    assert.equal(error.reason, "permission-denied");
    assert.match(error.message, /site settings/);
    assert.match(error.message, /LocalNetworkAccessAllowedForUrls/);
    fetch.done();
  });
  assert.deepEqual(navigator.asked, ["loopback-network", "loopback-network"]);
});

test("a cross-origin frame without the permissions policy is 'network-blocked' and names the iframe attribute", async () => {
  const navigator = permissionNavigator({ "loopback-network": "denied" });
  await withGlobals({ navigator, isSecureContext: true, document: framedDocument(false) }, async () => {
    fetch = replayFetch([{ method: "GET", url: "http://127.0.0.1:5/api/server", answer: new TypeError("Failed to fetch") }]);
    const error = await failure(sdk.connect({ endpoints: ["http://127.0.0.1:5"] }));
    assert.equal(error.kind, "network-blocked");
    assert.equal(error.reason, "frame-policy");
    assert.match(error.message, /allow="local-network-access"/);
    fetch.done();
  });
});

test("a page that is not a secure context is told to use HTTPS", async () => {
  await withGlobals({ navigator: permissionNavigator({ "loopback-network": "denied" }), isSecureContext: false }, async () => {
    fetch = replayFetch([{ method: "GET", url: "http://127.0.0.1:5/api/server", answer: new TypeError("Failed to fetch") }]);
    const error = await failure(sdk.connect({ endpoints: ["http://127.0.0.1:5"] }));
    assert.equal(error.kind, "network-blocked");
    assert.equal(error.reason, "insecure-context");
    assert.match(error.message, /https:\/\//);
    fetch.done();
  });
});

test("with the permission still to be asked, or unknown to the browser, a failure is 'absent'", async () => {
  for (const [states, hint] of [[{ "loopback-network": "prompt" }, true], [{}, false], [{ "loopback-network": "granted" }, false]]) {
    await withGlobals({ navigator: permissionNavigator(states), isSecureContext: true, document: framedDocument(true) }, async () => {
      fetch = replayFetch([{ method: "GET", url: "http://127.0.0.1:5/api/server", answer: new TypeError("Failed to fetch") }]);
      const error = await failure(sdk.connect({ endpoints: ["http://127.0.0.1:5"] }));
      assert.equal(error.kind, "absent", JSON.stringify(states));
      assert.equal("reason" in error, false);
      assert.match(error.message, /^ScanBridge is not running or not reachable \(http:\/\/127\.0\.0\.1:5: Failed to fetch\)\./);
      assert.equal(/allow it and try again/.test(error.message), hint, JSON.stringify(states));
      assert.match(error.message, /Install ScanBridge/);
      fetch.done();
    });
  }
});

test("an origin refusal wins over the permission: the service answered", async () => {
  await withGlobals({ navigator: permissionNavigator({ "loopback-network": "denied" }), isSecureContext: true }, async () => {
    fetch = replayFetch([{ method: "GET", url: httpsDefault,
                           answer: answer(403, { code: -1016, message: "Origin https://shop.example is not allowed" }) }]);
    const error = await failure(sdk.connect());
    assert.equal(error.kind, "origin-refused");
    fetch.done();
  });
});
