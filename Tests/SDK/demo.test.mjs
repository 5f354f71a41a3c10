// The demo page's inline module script must at least parse; the Browser suite runs it for real.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assetsFolder } from "./support.mjs";

test("the demo's module script is valid JavaScript", () => {
  const html = readFileSync(join(assetsFolder, "demo.html"), "utf8");
  const scripts = [...html.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1);
  execFileSync(process.execPath, ["--input-type=module", "--check"], { input: scripts[0], stdio: ["pipe", "inherit", "inherit"] });
});
