#!/usr/bin/env bash
# Packs the browser SDK (the same scanbridge.js and scanbridge.d.ts the service embeds) as the
# npm package scanbridge-sdk, versioned as ScanBridge itself, for applications that ship the SDK
# from their own origin. Usage: scripts/sdk-package.sh [output folder] (default .build-sdk).
# Prints the tarball's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/.build-sdk}" && cd "${1:-$root/.build-sdk}" && pwd)
assets="$root/Sources/ScanBridgeService/Web/Assets"

# The one place the product version is written down.
version=$(sed -n 's/^ *public static let semantic = "\([^"]*\)".*/\1/p' "$root/Sources/ScanBridgeCore/ProductVersion.swift")
[ -n "$version" ] || { echo "sdk-package.sh: no version in ProductVersion.swift" >&2; exit 1; }
sdk_version=$(sed -n 's/^export const VERSION = "\([^"]*\)";$/\1/p' "$assets/scanbridge.js")
if [ "$sdk_version" != "$version" ]; then
  echo "sdk-package.sh: scanbridge.js says VERSION = \"$sdk_version\", ProductVersion.swift says \"$version\"" >&2
  exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$assets/scanbridge.js" "$assets/scanbridge.d.ts" "$root/LICENSE" "$stage/"
cat > "$stage/package.json" <<JSON
{
  "name": "scanbridge-sdk",
  "version": "$version",
  "description": "Browser SDK for ScanBridge, the local scanning service: scan from SANE scanners into a web page, build PDF/TIFF documents, upload them.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./scanbridge.js",
  "types": "./scanbridge.d.ts",
  "exports": {
    ".": {
      "types": "./scanbridge.d.ts",
      "default": "./scanbridge.js"
    },
    "./package.json": "./package.json"
  },
  "files": ["scanbridge.js", "scanbridge.d.ts", "README.md", "LICENSE"],
  "sideEffects": false,
  "keywords": ["scanner", "scanning", "sane", "dynamic-web-twain", "local-network-access"]
}
JSON
cat > "$stage/README.md" <<MD
# scanbridge-sdk $version

The browser SDK of ScanBridge, the service that drives this computer's scanners from web pages.
One ES module with its TypeScript declarations and no dependencies. It needs ScanBridge
installed and running on the user's computer; the SDK talks to it on 127.0.0.1.

Ship the module from your own origin (bundle it, or copy \`scanbridge.js\` next to your pages)
and call \`connect()\` from a click: in Chrome 142 and later the first request to this computer
makes the browser ask the user for Local Network Access.

\`\`\`js
import { connect, ScanBridgeError } from "scanbridge-sdk";

document.querySelector("#connect").addEventListener("click", async () => {
  try {
    const bridge = await connect();
    const [scanner] = await bridge.listScanners();
    for await (const page of bridge.scan({ device: scanner.device, config: { IfFeederEnabled: true, XferCount: -1 } })) {
      const img = new Image(); img.crossOrigin = "anonymous"; img.src = page.thumbnailUrl; document.body.append(img);
    }
  } catch (error) {
    if (error instanceof ScanBridgeError) alert(\`\${error.kind}: \${error.message}\`); else throw error;
  }
});
\`\`\`

Errors carry a \`kind\`: \`absent\` (ScanBridge is not installed or not running),
\`network-blocked\` (the browser blocked the page; \`reason\` says why and the message what to do),
\`origin-refused\` (the service does not allow this site: its AllowedOrigins setting), \`http\`,
\`scan\`, \`aborted\`. The full guide is docs/SDK.md in the ScanBridge repository.

Licensed under the Apache License 2.0 (LICENSE).
MD

# npm pack prints the tarball's name last; its notices go to stderr.
name=$(cd "$stage" && npm pack --silent --pack-destination "$out" | tail -1)
echo "$out/$name"
