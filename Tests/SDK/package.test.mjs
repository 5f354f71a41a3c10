// The SDK as an application ships it: `make sdk` packs an npm tarball (scripts/sdk-package.sh)
// that installs offline into an empty project and imports under Node, touching no browser global.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assetsFolder, loadSDK } from "./support.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const productVersion = readFileSync(join(root, "Sources/ScanBridgeCore/ProductVersion.swift"), "utf8")
  .match(/static let semantic = "([^"]+)"/)[1];

test("the SDK's VERSION is the product version", async () => {
  const sdk = await loadSDK();
  assert.equal(sdk.VERSION, productVersion);
});

test("the tarball installs offline into an empty project and imports under Node", () => {
  const work = mkdtempSync(join(tmpdir(), "scanbridge-sdk-package-"));
  try {
    const tarball = execFileSync(join(root, "scripts/sdk-package.sh"), [join(work, "dist")], { encoding: "utf8" }).trim();
    assert.equal(tarball, join(work, "dist", `scanbridge-sdk-${productVersion}.tgz`));

    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    execFileSync("npm", ["init", "-y"], { cwd: app, stdio: "ignore" });
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: app, stdio: "pipe" });

    const installed = join(app, "node_modules", "scanbridge-sdk");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    assert.deepEqual(
      { name: manifest.name, version: manifest.version, type: manifest.type, types: manifest.types, license: manifest.license },
      { name: "scanbridge-sdk", version: productVersion, type: "module", types: "./scanbridge.d.ts", license: "Apache-2.0" });
    assert.deepEqual(manifest.exports["."], { types: "./scanbridge.d.ts", default: "./scanbridge.js" });
    // The files are the ones the service embeds, unchanged.
    for (const file of ["scanbridge.js", "scanbridge.d.ts"]) {
      assert.equal(readFileSync(join(installed, file), "utf8"), readFileSync(join(assetsFolder, file), "utf8"), file);
    }
    assert.equal(readFileSync(join(installed, "LICENSE"), "utf8"), readFileSync(join(root, "LICENSE"), "utf8"));
    assert.match(readFileSync(join(installed, "README.md"), "utf8"), /connect\(\)/);

    // Imported by its package name from the application, as a bundler or Node would resolve it.
    const script = `
      const sdk = await import("scanbridge-sdk");
      console.log(JSON.stringify({ version: sdk.VERSION, exports: Object.keys(sdk).sort(),
        state: await sdk.localNetworkAccess() }));`;
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8" });
    const loaded = JSON.parse(output);
    assert.equal(loaded.version, productVersion);
    assert.deepEqual(loaded.exports, ["DEFAULT_PORTS", "PDF_COMPRESSION", "ScanBridge", "ScanBridgeError", "ScanDocument", "VERSION",
      "connect", "isLoopbackHost", "localNetworkAccess", "saveBlob"]);
    assert.equal(loaded.state, "unsupported");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("every export of the module is declared in scanbridge.d.ts", async () => {
  const sdk = await loadSDK();
  const declarations = readFileSync(join(assetsFolder, "scanbridge.d.ts"), "utf8");
  for (const name of Object.keys(sdk)) {
    assert.match(declarations, new RegExp(`export declare (const|function|class) ${name}\\b`), name);
  }
});
