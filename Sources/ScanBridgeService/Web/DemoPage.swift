// The text between the delimiters is demo.html verbatim: edit it here (it is served as is).

/// The batch-scan demo, served at `/demo`. `{{ENDPOINTS}}` and `{{SDK}}` are filled in with the running service's API roots and SDK URL.
enum DemoPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ScanBridge batch-scan demo</title>
<meta name="scanbridge-endpoints" content="{{ENDPOINTS}}">
<meta name="scanbridge-sdk" content="{{SDK}}">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d3557; color: #fff; padding: 10px 18px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; }
  #status { font-size: 13px; opacity: .9; }
  main { padding: 14px 18px; }
  .bar { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 10px; }
  label { display: flex; flex-direction: column; font-size: 12px; color: #445; }
  select, input, button { font: inherit; padding: 5px 8px; }
  button { background: #2a6fdb; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  button:disabled { background: #9aa7bd; cursor: default; }
  button.secondary { background: #e3e8f0; color: #1d2330; }
  button.secondary:disabled { opacity: .45; }
  #error { display: none; background: #fde2e1; color: #8a1c1c; border: 1px solid #f3b2b0; padding: 8px 12px; border-radius: 4px; margin-bottom: 10px; white-space: pre-wrap; }
  #progress { width: 100%; height: 14px; }
  #progressText { font-size: 12px; color: #445; margin: 2px 0 10px; }
  #pages { display: flex; flex-wrap: wrap; gap: 12px; min-height: 200px; }
  figure { margin: 0; background: #fff; border: 2px solid transparent; border-radius: 6px; padding: 6px; box-shadow: 0 1px 3px #0002; width: 150px; text-align: center; cursor: grab; }
  figure.selected { border-color: #2a6fdb; }
  figure.drop-target { border-style: dashed; border-color: #e07a1f; }
  figure img { max-width: 140px; max-height: 180px; display: block; margin: 0 auto 4px; background: #eee; }
  figcaption { font-size: 12px; color: #445; }
</style>
</head>
<body>
<header><h1>ScanBridge demo</h1><span id="status">Connecting…</span></header>
<main>
  <div id="error" role="alert"></div>
  <div class="bar">
    <label>Scanner <select id="scanner"></select></label>
    <label>Source <select id="source"><option value="adf">Document feeder</option><option value="flatbed">Flatbed</option></select></label>
    <label>Colour <select id="pixelType"><option value="2">Colour</option><option value="1">Gray</option><option value="0">Black &amp; white</option></select></label>
    <label>Resolution <select id="resolution"><option>75</option><option selected>100</option><option>150</option><option>200</option><option>300</option></select></label>
    <label>Pages <input id="count" type="number" value="10" min="-1" style="width:5em" title="-1: all pages in the feeder"></label>
    <button id="scan" disabled>Scan</button>
  </div>
  <progress id="progress" value="0" max="1"></progress>
  <div id="progressText">No scan yet.</div>
  <div class="bar">
    <button id="rotate" class="secondary" disabled>Rotate ↻</button>
    <button id="delete" class="secondary" disabled>Delete</button>
    <button id="savePdf" disabled>Save as PDF</button>
    <button id="saveTiff" disabled>Save as TIFF</button>
    <label>Upload to <input id="uploadUrl" type="url" placeholder="https://example.com/upload" size="28"></label>
    <button id="upload" disabled>Upload PDF</button>
    <span id="uploadText"></span>
  </div>
  <div id="pages" aria-label="Scanned pages"></div>
</main>
<script type="module">
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const params = new URLSearchParams(location.search);
const override = params.get("service");
const endpoints = override ? [override] : meta("scanbridge-endpoints").split(/\s+/).filter((e) => e && !e.startsWith("{{"));
const sdkURL = params.get("sdk") ?? (meta("scanbridge-sdk").startsWith("{{") ? `${endpoints.at(-1) ?? ""}/scanbridge.js` : meta("scanbridge-sdk"));
const $ = (id) => document.getElementById(id);
const state = { bridge: null, pages: [], selected: null, dragging: null, scanning: false, saved: [] };
window.scanbridgeDemo = state;

function showError(error) {
  const box = $("error");
  if (!error) { box.style.display = "none"; box.textContent = ""; return; }
  box.textContent = error.message ?? String(error);
  box.dataset.kind = error.kind ?? "";
  box.style.display = "block";
}

function updateButtons() {
  const ready = !!state.bridge && !state.scanning;
  $("scan").disabled = !ready;
  $("rotate").disabled = !ready || state.selected === null;
  $("delete").disabled = !ready || state.selected === null;
  for (const id of ["savePdf", "saveTiff", "upload"]) $(id).disabled = !ready || state.pages.length === 0;
}

function render() {
  const box = $("pages");
  box.replaceChildren();
  state.pages.forEach((page, index) => {
    const figure = document.createElement("figure");
    figure.draggable = true;
    figure.dataset.id = page.id;
    figure.dataset.index = index;
    if (page.id === state.selected) figure.classList.add("selected");
    const img = document.createElement("img");
    img.crossOrigin = "anonymous";
    img.alt = `Page ${index + 1}`;
    img.src = `${page.thumbnailUrl}&v=${page.version}`;
    const caption = document.createElement("figcaption");
    caption.textContent = `Page ${index + 1} · scan #${page.pageNumber}${page.rotation ? ` · ${page.rotation}°` : ""}`;
    figure.append(img, caption);
    figure.addEventListener("click", () => { state.selected = state.selected === page.id ? null : page.id; render(); });
    figure.addEventListener("dragstart", () => { state.dragging = page.id; });
    figure.addEventListener("dragover", (event) => { event.preventDefault(); figure.classList.add("drop-target"); });
    figure.addEventListener("dragleave", () => figure.classList.remove("drop-target"));
    figure.addEventListener("drop", (event) => { event.preventDefault(); movePage(state.dragging, page.id); });
    box.append(figure);
  });
  updateButtons();
}

async function run(task) {
  showError(null);
  try { await task(); } catch (error) { console.error(error); showError(error); } finally { updateButtons(); }
}

async function movePage(fromId, toId) {
  state.dragging = null;
  if (fromId === null || fromId === toId) return render();
  const from = state.pages.findIndex((p) => p.id === fromId);
  const to = state.pages.findIndex((p) => p.id === toId);
  if (from < 0 || to < 0) return render();
  const [moved] = state.pages.splice(from, 1);
  state.pages.splice(to, 0, moved);
  render();
  await run(() => state.bridge.reorderPages(state.pages.map((p) => p.id)));
}

function progress(done, expected, text) {
  const bar = $("progress");
  if (expected > 0) { bar.max = expected; bar.value = done; } else { bar.removeAttribute("value"); }
  $("progressText").textContent = text;
}

async function scan() {
  state.scanning = true;
  updateButtons();
  const count = Number($("count").value);
  const adf = $("source").value === "adf";
  const config = { IfFeederEnabled: adf, XferCount: adf ? count : 1, PixelType: Number($("pixelType").value),
                   Resolution: Number($("resolution").value) };
  const expected = adf ? (count > 0 ? count : 0) : 1;
  let received = 0;
  progress(0, expected, "Scanning…");
  try {
    for await (const page of state.bridge.scan({ device: $("scanner").value, config })) {
      received += 1;
      state.pages.push({ ...page, rotation: 0, version: 0 });
      render();
      progress(received, expected, `Scanning… ${received}${expected ? ` of ${expected}` : ""} page(s)`);
    }
    progress(1, 1, `Scan finished: ${received} page(s).`);
  } catch (error) {
    progress(1, 1, `Scan stopped after ${received} page(s).`);
    throw error;
  } finally {
    state.scanning = false;
  }
}

async function rotateSelected() {
  const page = state.pages.find((p) => p.id === state.selected);
  if (!page) return;
  const result = await state.bridge.rotatePage(page.id, 90);
  page.rotation = (page.rotation + 90) % 360;
  page.width = result.width;
  page.height = result.height;
  page.version += 1;
  render();
}

async function deleteSelected() {
  const index = state.pages.findIndex((p) => p.id === state.selected);
  if (index < 0) return;
  await state.bridge.deletePage(state.pages[index].id);
  state.pages.splice(index, 1);
  state.selected = null;
  render();
}

async function buildDocument() {
  const doc = await state.bridge.createDocument();
  await doc.insert(state.pages);
  return doc;
}

async function save(type) {
  const doc = await buildDocument();
  const name = type === "application/pdf" ? "scan.pdf" : "scan.tif";
  const blob = await doc.save(name, { type });
  state.saved.push({ name, size: blob.size, document: doc.uid });
  $("progressText").textContent = `Saved ${name} (${state.pages.length} page(s), ${blob.size} bytes).`;
}

async function upload() {
  const url = $("uploadUrl").value.trim();
  if (!url) throw new Error("Enter the URL to upload to.");
  const doc = await buildDocument();
  const id = await doc.upload({ url, type: "application/pdf", fileName: "scan.pdf" });
  $("uploadText").textContent = `Upload ${id}: queued`;
}

async function start() {
  let sdk;
  try {
    sdk = await import(sdkURL);
  } catch (error) {
    $("status").textContent = "Not connected";
    showError(new Error(`Cannot load the ScanBridge SDK from ${sdkURL}: is ScanBridge installed and running on this computer?`));
    return;
  }
  try {
    state.bridge = await sdk.connect({ endpoints: endpoints.length ? endpoints : undefined });
  } catch (error) {
    $("status").textContent = "Not connected";
    showError(error);
    return;
  }
  const info = state.bridge.server;
  $("status").textContent = `Connected to ${state.bridge.base} · ScanBridge ${info.version} · ${info.ioEngine}`;
  state.bridge.subscribe((event) => {
    if (event.type === "upload") $("uploadText").textContent = `Upload ${event.data.upload}: ${event.data.state} ${event.data.sent}/${event.data.total}${event.data.message ? ` (${event.data.message})` : ""}`;
  }, { types: ["upload"] });
  await run(async () => {
    const scanners = await state.bridge.listScanners();
    $("scanner").replaceChildren(...scanners.map((s) => new Option(s.name, s.device)));
    if (!scanners.length) throw new Error("No scanner found. Connect one and reload.");
  });
  document.body.dataset.ready = "true";
}

$("scan").addEventListener("click", () => run(scan));
$("rotate").addEventListener("click", () => run(rotateSelected));
$("delete").addEventListener("click", () => run(deleteSelected));
$("savePdf").addEventListener("click", () => run(() => save("application/pdf")));
$("saveTiff").addEventListener("click", () => run(() => save("image/tiff")));
$("upload").addEventListener("click", () => run(upload));
start();
</script>
</body>
</html>
"""#
}
