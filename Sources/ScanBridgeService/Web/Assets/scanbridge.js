// ScanBridge browser SDK: one ES module, no build step, no dependencies. The service serves it
// at /scanbridge.js (typings at /scanbridge.d.ts); `make sdk` packs the same file as the npm
// package scanbridge-sdk, for applications that ship it from their own origin.
//
//   import { connect } from "scanbridge-sdk";            // or "./scanbridge.js" next to the page
//   button.addEventListener("click", async () => {        // on a click: see connect()
//     const bridge = await connect();
//     const [scanner] = await bridge.listScanners();
//     for await (const page of bridge.scan({ device: scanner.device, config: { Resolution: 150 } })) {
//       img.crossOrigin = "anonymous"; img.src = page.thumbnailUrl;
//     }
//   });
//
// Importing the module touches no browser global (it loads under Node too); only calls do.

/** The SDK version: the ScanBridge version it ships with. */
export const VERSION = "0.1.0";

/** Default ports of the service's API listeners (DWT: 18623 https, 18622 http). */
export const DEFAULT_PORTS = Object.freeze({ https: 18623, http: 18622 });

/**
 * DWT's PDF compression codes, for `ScanDocument.content`/`save` (`compression`): auto keeps JPEG
 * pages as they are and makes black-and-white pages CCITT G4; JBIG2 is lossless and smallest for
 * black and white (every page made black and white).
 */
export const PDF_COMPRESSION = Object.freeze({ auto: 0, ccittG4: 2, lossless: 3, jpeg: 5, jbig2: 7 });

const INSTALL_HINT =
  "Install ScanBridge on this computer and start it (`scanbridge serve`, or `make run` in its source tree); " +
  "see the README section \"Browser SDK and demo\".";

/**
 * An error from the SDK or the service. `kind` says what went wrong:
 * "absent" (no service answered), "origin-refused" (this page's origin is not in AllowedOrigins),
 * "network-blocked" (the browser blocked this page from reaching the local network; `reason`
 * says why), "http" (the service answered an error; `code` is its DWT code), "scan" (the scanner
 * failed mid-batch; pages before the failure were delivered), "aborted".
 */
/**
 * The capture options the camera routes take, without the ones left unset.
 * @param {{mediaType?: string, width?: number, height?: number, warmUpFrames?: number}} options
 */
function cameraOptions(options) {
  const { mediaType, width, height, warmUpFrames } = options;
  return Object.fromEntries(Object.entries({ mediaType, width, height, warmUpFrames }).filter(([, value]) => value !== undefined));
}

export class ScanBridgeError extends Error {
  /**
   * @param {string} message human-readable explanation
   * @param {{kind?: string, code?: number, status?: number, cause?: unknown, reason?: string}} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.name = "ScanBridgeError";
    this.kind = details.kind ?? "http";
    this.code = details.code ?? -1;
    this.status = details.status ?? 0;
    if (details.reason !== undefined) this.reason = details.reason;
    if (details.cause !== undefined) this.cause = details.cause;
  }
}

/**
 * The query of an import (`…/documents/{uid}/import`, `/api/buffer/import`) from the options of
 * `importFile` and `importToBuffer`.
 */
function importQuery(options) {
  const params = new URLSearchParams();
  if (options.at !== undefined) params.set("insertPos", String(options.at));
  if (options.dpi !== undefined) params.set("dpi", String(options.dpi));
  if (options.pdfPassword) params.set("password", options.pdfPassword);
  return params;
}

function timeoutSignal(ms, outer) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("timed out", "TimeoutError")), ms);
  if (outer) outer.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

async function errorFrom(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const message = body?.message ?? `HTTP ${response.status} ${response.statusText}`;
  const kind = response.status === 403 && /Origin .* is not allowed/.test(message) ? "origin-refused" : "http";
  return new ScanBridgeError(message, { kind, code: body?.code ?? -1, status: response.status });
}

/** Whether `host` (a URL's hostname) is this computer: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host) {
  const name = String(host).toLowerCase().replace(/^\[|\]$/g, "");
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

/**
 * The fetch options that tell the browser a request goes to this computer: Local Network Access
 * (Chrome 142+) then lets a public HTTPS page call http://127.0.0.1 once the user allowed it.
 * Other browsers ignore the member.
 */
function addressSpaceOf(base) {
  try { return isLoopbackHost(new URL(base).hostname) ? { targetAddressSpace: "loopback" } : {}; } catch { return {}; }
}

/**
 * Permission names for reaching `host`, most specific first: Chrome 145+ splits Local Network
 * Access into "loopback-network" (this computer) and "local-network" (the LAN); Chrome 142–144
 * knows only "local-network-access".
 */
function permissionNames(host) {
  return [isLoopbackHost(host) ? "loopback-network" : "local-network", "local-network-access"];
}

/**
 * Whether this browser lets this page reach ScanBridge on `host` (default 127.0.0.1), from the
 * Local Network Access permission: "granted", "prompt" (the browser will ask the user on the
 * first request), "denied", or "unsupported" (the browser has no such permission; requests go
 * through). Never prompts; an application can call it at page load and connect at once when
 * "granted", or show a button that calls `connect()` otherwise.
 * @param {{host?: string}} [options]
 * @returns {Promise<"granted"|"prompt"|"denied"|"unsupported">}
 */
export async function localNetworkAccess(options = {}) {
  const permissions = globalThis.navigator?.permissions;
  if (typeof permissions?.query !== "function") return "unsupported";
  for (const name of permissionNames(options.host ?? "127.0.0.1")) {
    try {
      return (await permissions.query({ name })).state;
    } catch { /* a name this browser does not know: try the next */ }
  }
  return "unsupported";
}

/**
 * Whether the permissions policy of this document lets it use Local Network Access for `host`:
 * false in a cross-origin iframe the embedding page did not give `allow="local-network-access"`.
 */
function framePolicyAllows(host) {
  const policy = globalThis.document?.permissionsPolicy ?? globalThis.document?.featurePolicy;
  if (typeof policy?.allowsFeature !== "function") return true;
  const known = typeof policy.features === "function" ? policy.features() : null;
  for (const name of permissionNames(host)) {
    if (!known || known.includes(name)) return policy.allowsFeature(name);
  }
  return true;
}

const BLOCKED_MESSAGES = {
  "insecure-context":
    "The browser blocked this page from reaching ScanBridge on this computer: only pages served over HTTPS may " +
    "reach the local network. Open this page with https://.",
  "frame-policy":
    "The browser blocked this page from reaching ScanBridge on this computer: it runs in a frame that may not " +
    "use the local network. The page that embeds it must allow it: <iframe allow=\"local-network-access\" …>.",
  "permission-denied":
    "The browser blocked this page from reaching ScanBridge on this computer (Local Network Access). Allow " +
    "\"Local network access\" for this site in the browser's site settings (the icon left of the address), " +
    "then try again. Administrators can allow the site for everyone with the browser policy " +
    "LocalNetworkAccessAllowedForUrls.",
};

/**
 * Why the browser blocked this page from reaching `host`, or null when nothing says it did.
 * Asked after the requests failed: a request is what makes the browser ask the user (or, headless,
 * deny), so the permission is read again then.
 * @param {string} host
 * @param {string} permission the permission's state after the requests
 * @returns {"insecure-context"|"frame-policy"|"permission-denied"|null}
 */
function blockReason(host, permission) {
  if (permission === "unsupported") return null;
  if (globalThis.isSecureContext === false) return "insecure-context";
  if (!framePolicyAllows(host)) return "frame-policy";
  return permission === "denied" ? "permission-denied" : null;
}

/**
 * The error `connect()` throws when no endpoint answered: "network-blocked" when the browser
 * says it blocked this page, else "absent".
 * @param {string[]} failures one "endpoint: what happened" per endpoint tried
 * @param {string} host
 * @param {string} permission the Local Network Access state after the requests
 * @returns {ScanBridgeError}
 */
function unreachableError(failures, host, permission) {
  const reason = blockReason(host, permission);
  if (reason) return new ScanBridgeError(BLOCKED_MESSAGES[reason], { kind: "network-blocked", reason });
  const ask = permission === "prompt"
    ? " If the browser asked whether this site may reach devices on your local network, allow it and try again."
    : "";
  return new ScanBridgeError(`ScanBridge is not running or not reachable (${failures.join("; ")}).${ask} ${INSTALL_HINT}`,
    { kind: "absent" });
}

/**
 * Connects to the ScanBridge service on this computer: tries each endpoint in turn (by default
 * https://127.0.0.1:18623, then http://127.0.0.1:18622; http first when this page is HTTPS and
 * the browser already allows local network access, since plain HTTP on loopback then needs no
 * certificate trust) and returns a client for the first that answers.
 *
 * Call it from a user gesture (a click on "Connect scanner"), not at page load: in Chrome 142+
 * the first request from a public site to this computer makes the browser ask the user for Local
 * Network Access. `localNetworkAccess()` says, without asking, whether that is settled already.
 *
 * Throws a `ScanBridgeError` with kind "origin-refused" when the service refuses this page's
 * origin, "network-blocked" when the browser blocked the requests (`reason`: "permission-denied",
 * "frame-policy", "insecure-context"), and "absent" with an install hint when no service answered.
 * @param {{endpoints?: string[], host?: string, httpsPort?: number, httpPort?: number, timeoutMs?: number}} [options]
 * @returns {Promise<ScanBridge>}
 */
export async function connect(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const permission = await localNetworkAccess({ host });
  const https = `https://${host}:${options.httpsPort ?? DEFAULT_PORTS.https}`;
  const http = `http://${host}:${options.httpPort ?? DEFAULT_PORTS.http}`;
  const plainFirst = permission === "granted" && globalThis.location?.protocol === "https:" && isLoopbackHost(host);
  const endpoints = options.endpoints?.length ? options.endpoints : plainFirst ? [http, https] : [https, http];
  const failures = [];
  for (const raw of endpoints) {
    const base = raw.replace(/\/+$/, "");
    const timer = timeoutSignal(options.timeoutMs ?? 4000);
    try {
      const response = await fetch(`${base}/api/server`, { signal: timer.signal, cache: "no-store", ...addressSpaceOf(base) });
      if (!response.ok) throw await errorFrom(response);
      const server = await response.json();
      return new ScanBridge(base, server);
    } catch (error) {
      if (error instanceof ScanBridgeError && error.kind === "origin-refused") throw error;
      failures.push(`${base}: ${error?.message ?? error}`);
    } finally {
      timer.done();
    }
  }
  const blockedHost = (() => { try { return new URL(endpoints[0]).hostname; } catch { return host; } })();
  throw unreachableError(failures, blockedHost, await localNetworkAccess({ host: blockedHost }));
}

/**
 * A page scanned into the service's buffer.
 * @typedef {{id: number, uid: string, job: string, pageNumber: number, width: number, height: number,
 *            url: string, thumbnailUrl: string}} ScannedPage
 */

/** A connected client. Create it with `connect()`. */
export class ScanBridge {
  /**
   * @param {string} base the API root, e.g. "http://127.0.0.1:18622"
   * @param {object} server what GET /api/server answered
   */
  constructor(base, server) {
    /** The API root this client talks to. */
    this.base = base;
    /** Version, I/O engine, log level and uptime of the service when connected. */
    this.server = server;
  }

  /**
   * Sends a request to the service and returns the response; a non-2xx answer throws a
   * `ScanBridgeError` with the service's message and DWT code.
   * @param {string} method
   * @param {string} path path under the API root, e.g. "/api/server"
   * @param {{json?: unknown, body?: Blob|ArrayBuffer|Uint8Array, headers?: Record<string,string>, signal?: AbortSignal}} [options]
   * @returns {Promise<Response>}
   */
  async request(method, path, options = {}) {
    const headers = { ...(options.headers ?? {}) };
    let body = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    let response;
    try {
      const url = this.url(path);
      response = await fetch(url, { method, headers, body, signal: options.signal, cache: "no-store", ...addressSpaceOf(url) });
    } catch (error) {
      if (error?.name === "AbortError") throw new ScanBridgeError("Aborted", { kind: "aborted", cause: error });
      throw new ScanBridgeError(`The service at ${this.base} did not answer: ${error?.message ?? error}`, { kind: "absent", cause: error });
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /**
   * An absolute URL of the service for `path`.
   * @param {string} path
   * @returns {string}
   */
  url(path) {
    return /^https?:/.test(path) ? path : `${this.base}${path}`;
  }

  /**
   * The service's current settings: version, I/O engine, log level, uptime in seconds.
   * @returns {Promise<{version: string, ioEngine: string, logLevel: number, uptime: number}>}
   */
  async serverInfo() {
    return (await this.request("GET", "/api/server")).json();
  }

  /**
   * Lists the scanners (SANE devices).
   * @param {{refresh?: boolean}} [options] refresh: search for devices again instead of the cached list
   * @returns {Promise<Array<{name: string, type: number, device: string}>>}
   */
  async listScanners(options = {}) {
    return (await this.request("GET", `/api/device/scanners${options.refresh ? "?refresh=true" : ""}`)).json();
  }

  // MARK: Cameras (V4L2), in the words of DWT's webcam add-on: media types and resolutions.

  /**
   * Lists the cameras (V4L2 devices) of this computer, with their media types (pixel formats)
   * and resolutions.
   * @returns {Promise<Array<Camera>>}
   */
  async listCameras() {
    return (await this.request("GET", "/api/cameras")).json();
  }

  /**
   * One camera, by its id or device path.
   * @param {string} camera
   * @returns {Promise<Camera>}
   */
  async getCamera(camera) {
    return (await this.request("GET", `/api/cameras/${encodeURIComponent(camera)}`)).json();
  }

  /**
   * Captures one still into the buffer. Without options: the camera's preferred media type (JPEG
   * first) at its largest resolution.
   * @param {string} camera its id or device path
   * @param {{mediaType?: string, width?: number, height?: number, warmUpFrames?: number}} [options]
   * @returns {Promise<ScannedPage & {mediaType: string}>} the page; delete its `job` to free it
   */
  async captureStill(camera, options = {}) {
    const still = await (await this.request("POST", `/api/cameras/${encodeURIComponent(camera)}/capture`, {
      json: cameraOptions(options),
    })).json();
    return { ...this.jobPage(still.page, still.jobuid), mediaType: still.mediaType };
  }

  /**
   * Captures pages repeatedly, yielding each as soon as it is in the buffer: `maxPages` pages
   * (default 1; -1 until the loop ends), one every `interval` ms. Throws a `ScanBridgeError` of
   * kind "scan" when the camera fails (unplugged) after the pages captured before. Breaking out
   * of the loop or aborting `signal` cancels the job.
   * @param {string} camera its id or device path
   * @param {{mediaType?: string, width?: number, height?: number, maxPages?: number, interval?: number,
   *   warmUpFrames?: number, signal?: AbortSignal, onJob?: (job: string) => void}} [options]
   * @returns {AsyncGenerator<ScannedPage>}
   */
  async *captureStream(camera, options = {}) {
    const created = await (await this.request("POST", "/api/cameras/jobs", {
      json: { device: camera, ...cameraOptions(options), maxPages: options.maxPages, interval: options.interval },
    })).json();
    yield* this.followJob(created.jobuid, "/api/cameras/jobs", options, "The camera stopped");
  }

  /**
   * A page of a job from its `next-page-info` entry (scanned or captured).
   * @param {object} info
   * @param {string} job
   * @returns {ScannedPage}
   */
  jobPage(info, job) {
    return {
      id: info.imageId, uid: info.imageuid, job, pageNumber: info.imageInfo?.ImageLayout?.PageNumber ?? 0,
      width: info.imageInfo?.ImageWidth ?? 0, height: info.imageInfo?.ImageLength ?? 0,
      url: this.url(`/api/device/scanners/jobs/${job}/next-page?page=${encodeURIComponent(info.imageuid)}`),
      thumbnailUrl: this.thumbnailUrl(info.imageId),
    };
  }

  /**
   * Scans: creates a job and yields each page as soon as the scanner delivered it. When the
   * scanner fails mid-batch (paper jam, cover open) the iterator throws a `ScanBridgeError` of
   * kind "scan" after the pages scanned before the failure. Breaking out of the loop or aborting
   * `signal` cancels the job.
   * @param {{device?: string, config?: object, caps?: object, signal?: AbortSignal, onJob?: (job: string) => void}} [options]
   *   config is the DWT job config, e.g. {IfFeederEnabled: true, XferCount: 10, Resolution: 150, PixelType: 2}
   * @returns {AsyncGenerator<ScannedPage>}
   */
  async *scan(options = {}) {
    const created = await (await this.request("POST", "/api/device/scanners/jobs", {
      json: { device: options.device, config: options.config ?? {}, caps: options.caps, autoRun: true },
    })).json();
    yield* this.followJob(created.jobuid, "/api/device/scanners/jobs", options, "The scan stopped");
  }

  /**
   * Yields a running job's pages as they arrive, then throws a `ScanBridgeError` of kind "scan"
   * if the job faulted. Leaving early or aborting `options.signal` cancels the job.
   * @param {string} job
   * @param {string} prefix where the job's routes are
   * @param {{signal?: AbortSignal, onJob?: (job: string) => void}} options
   * @param {string} failure the start of the error message
   * @returns {AsyncGenerator<ScannedPage>}
   */
  async *followJob(job, prefix, options, failure) {
    options.onJob?.(job);
    let finished = false;
    const onAbort = () => { this.cancelJob(job).catch(() => {}); };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (true) {
        const response = await this.request("GET", `${prefix}/${job}/next-page-info`, { signal: options.signal });
        if (response.status === 204) break;
        const [info] = await response.json();
        yield this.jobPage(info, job);
      }
      finished = true;
      const state = await (await this.request("GET", `${prefix}/${job}`)).json();
      if (state.status === "faulted") {
        throw new ScanBridgeError(`${failure}: ${state.message}`, { kind: "scan", code: state.code });
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      if (!finished) await this.cancelJob(job).catch(() => {});
    }
  }

  /**
   * Cancels a running or pending job (pages scanned so far stay).
   * @param {string} job the job uid
   * @returns {Promise<void>}
   */
  async cancelJob(job) {
    await this.request("PATCH", `/api/device/scanners/jobs/${job}`, { json: { status: "canceled" } });
  }

  /**
   * Deletes a job and frees its pages.
   * @param {string} job
   * @returns {Promise<void>}
   */
  async deleteJob(job) {
    await this.request("DELETE", `/api/device/scanners/jobs/${job}`);
  }

  /**
   * The URL of a buffered page's JPEG thumbnail. Load it with `img.crossOrigin = "anonymous"`
   * so the browser sends this page's origin (pages belong to the origin that scanned them).
   * @param {number} id the page's buffer id
   * @param {number} [size] longest side in pixels (default 240)
   * @returns {string}
   */
  thumbnailUrl(id, size = 240) {
    return this.url(`/api/buffer/${id}/thumbnail?size=${size}`);
  }

  /**
   * Rotates a buffered page in place by a multiple of 90 degrees (clockwise positive).
   * @param {number} id
   * @param {number} degrees
   * @returns {Promise<{id: number, width: number, height: number}>}
   */
  async rotatePage(id, degrees) {
    return (await this.request("POST", `/api/buffer/${id}/rotate`, { json: { degrees } })).json();
  }

  /**
   * Removes a buffered page.
   * @param {number} id
   * @returns {Promise<void>}
   */
  async deletePage(id) {
    await this.request("DELETE", `/api/buffer/${id}`);
  }

  /**
   * Puts buffered pages in the given order (within the positions they occupy).
   * @param {number[]} ids
   * @returns {Promise<void>}
   */
  async reorderPages(ids) {
    await this.request("POST", "/api/buffer/reorder", { json: { ids } });
  }

  /**
   * Imports a file into the buffer, as new pages of this page's origin: an image file (JPEG, PNG,
   * BMP, TIFF with every page) or a PDF, whose pages that are one JPEG or G4 image keep it while
   * the others are rendered at `dpi` (default 200); `pdfPassword` opens an encrypted PDF. The
   * pages go in at `at` among this origin's buffered pages (default: the end), all of them or
   * none. They are buffer pages like scanned ones; deleting their `job` frees them.
   * @param {Blob|ArrayBuffer|Uint8Array} file e.g. a File from an <input type="file">
   * @param {{at?: number, dpi?: number, pdfPassword?: string}} [options]
   * @returns {Promise<ScannedPage[]>}
   */
  async importToBuffer(file, options = {}) {
    const entries = await (await this.request("POST", `/api/buffer/import?${importQuery(options)}`, {
      body: file, headers: { "Content-Type": "application/octet-stream" },
    })).json();
    return entries.map((entry, index) => ({
      id: entry.id, uid: entry.uid, job: entry.job, pageNumber: index + 1, width: entry.width, height: entry.height,
      url: this.url(entry.url), thumbnailUrl: this.thumbnailUrl(entry.id),
    }));
  }

  /**
   * Creates a persistent document on the service. `ocr` (a language of `ocrLanguages()`) reads
   * each inserted page in the background and makes the document's PDFs searchable; `pdfa` makes
   * them PDF/A-2b (not with a password).
   * @param {{password?: string, ocr?: string, pdfa?: boolean}} [options]
   * @returns {Promise<ScanDocument>}
   */
  async createDocument(options = {}) {
    const info = await (await this.request("POST", "/api/storage/documents", {
      json: { password: options.password, ocr: options.ocr, pdfa: options.pdfa },
    })).json();
    return new ScanDocument(this, info.uid, options.password);
  }

  /**
   * The OCR languages installed on the service (`eng`, `deu`, …): the values of `ocr`.
   * @returns {Promise<string[]>}
   */
  async ocrLanguages() {
    return (await this.serverInfo()).ocrLanguages ?? [];
  }

  /**
   * Opens an existing document by uid.
   * @param {string} uid
   * @param {{password?: string}} [options]
   * @returns {ScanDocument}
   */
  document(uid, options = {}) {
    return new ScanDocument(this, uid, options.password);
  }

  /**
   * Subscribes to live events (job state, page ready, buffer changes, upload progress) over
   * server-sent events; reconnects by itself and resumes from the last event id.
   * @param {(event: {type: string, id: string, data: any}) => void} handler
   * @param {{types?: string[]}} [options] event types to listen to (default: all)
   * @returns {() => void} call it to stop
   */
  subscribe(handler, options = {}) {
    const source = new EventSource(this.url("/api/events"));
    const types = options.types ?? ["job", "page", "buffer", "upload", "ocr", "reset", "hello"];
    for (const type of types) {
      source.addEventListener(type, (event) => {
        let data = null;
        try { data = JSON.parse(event.data); } catch { data = event.data; }
        handler({ type, id: event.lastEventId, data });
      });
    }
    return () => source.close();
  }

  /**
   * The status of an upload started with `ScanDocument.upload`.
   * @param {string} upload
   * @returns {Promise<{upload: string, state: string, sent: number, total: number, statusCode?: number, message?: string}>}
   */
  async uploadStatus(upload) {
    return (await this.request("GET", `/api/uploads/${upload}`)).json();
  }
}

/** A document stored by the service. Create one with `ScanBridge.createDocument()`. */
export class ScanDocument {
  /**
   * @param {ScanBridge} bridge
   * @param {string} uid
   * @param {string} [password]
   */
  constructor(bridge, uid, password) {
    this.bridge = bridge;
    this.uid = uid;
    this.password = password;
  }

  #headers() {
    return this.password ? { "DWT-DOC-PASSWORD": this.password } : {};
  }

  /**
   * The document's pages (uids in order).
   * @returns {Promise<{uid: string, pages: Array<{uid: string}>}>}
   */
  async info() {
    return (await this.bridge.request("GET", `/api/storage/documents/${this.uid}`, { headers: this.#headers() })).json();
  }

  /**
   * Inserts pages (scanned pages or their URLs) at `at` (default: the end), in the order given.
   * @param {Array<ScannedPage|string>} pages
   * @param {{at?: number}} [options]
   * @returns {Promise<{uid: string, pages: Array<{uid: string}>}>}
   */
  async insert(pages, options = {}) {
    let info = null;
    let position = options.at ?? -1;
    for (const page of pages) {
      const source = typeof page === "string" ? page : page.url;
      info = await (await this.bridge.request("POST", `/api/storage/documents/${this.uid}/pages`, {
        json: { source, insertPos: position }, headers: this.#headers(),
      })).json();
      if (position >= 0) position += 1;
    }
    return info ?? this.info();
  }

  /**
   * Puts the pages in this order (every page uid exactly once).
   * @param {string[]} pageUids
   * @returns {Promise<{uid: string, pages: Array<{uid: string}>}>}
   */
  async reorder(pageUids) {
    return (await this.bridge.request("POST", `/api/storage/documents/${this.uid}/order`, {
      json: { pages: pageUids }, headers: this.#headers(),
    })).json();
  }

  /**
   * Rotates one page (uid or 0-based index) by a multiple of 90 degrees.
   * @param {string|number} page
   * @param {number} degrees
   * @returns {Promise<{uid: string, pages: Array<{uid: string}>}>}
   */
  async rotate(page, degrees) {
    return (await this.bridge.request("POST", `/api/storage/documents/${this.uid}/pages/${page}/rotate`, {
      json: { degrees }, headers: this.#headers(),
    })).json();
  }

  /**
   * Deletes one page (uid or 0-based index).
   * @param {string|number} page
   * @returns {Promise<void>}
   */
  async deletePage(page) {
    await this.bridge.request("DELETE", `/api/storage/documents/${this.uid}/pages/${page}`, { headers: this.#headers() });
  }

  /**
   * Imports a file into the document at `at` (default: the end): an image file (JPEG, PNG, BMP,
   * TIFF) or a PDF. A PDF's pages that are one JPEG or G4 image keep it; other pages are rendered
   * at `dpi` (default 200); `pdfPassword` opens an encrypted PDF. All pages or none.
   * @param {Blob|ArrayBuffer|Uint8Array} file e.g. a File from an <input type="file">
   * @param {{at?: number, dpi?: number, pdfPassword?: string}} [options]
   * @returns {Promise<{uid: string, pages: Array<{uid: string}>}>}
   */
  async importFile(file, options = {}) {
    return (await this.bridge.request("POST", `/api/storage/documents/${this.uid}/import?${importQuery(options)}`, {
      body: file, headers: { ...this.#headers(), "Content-Type": "application/octet-stream" },
    })).json();
  }

  /**
   * The expected size in bytes of the document as `type` with `compression` (a DWT code,
   * `PDF_COMPRESSION`): page 1 rendered that way, times the page count.
   * @param {{type?: "application/pdf"|"image/tiff", compression?: number}} [options]
   * @returns {Promise<{bytes: number, pages: number, firstPage: number}>}
   */
  async expectedSize(options = {}) {
    const pages = (await this.info()).pages.length;
    if (pages === 0) return { bytes: 0, pages: 0, firstPage: 0 };
    const first = await this.content({ type: options.type, query: { pages: "0", compression: String(options.compression ?? 0) } });
    return { bytes: first.size * pages, pages, firstPage: first.size };
  }

  /**
   * The document's content as a Blob. `ocr` (a language of `ocrLanguages()`) makes a PDF
   * searchable, and is needed for the recognised text ("text/plain") and hOCR ("text/html");
   * `pdfa` asks for PDF/A-2b.
   * @param {{type?: "application/pdf"|"image/tiff"|"image/jpeg"|"image/png"|"text/plain"|"text/html",
   *          ocr?: string, pdfa?: boolean, query?: Record<string,string>}} [options]
   * @returns {Promise<Blob>}
   */
  async content(options = {}) {
    const params = new URLSearchParams({ type: options.type ?? "application/pdf", ...(options.query ?? {}) });
    if (options.ocr) params.set("ocr", options.ocr);
    if (options.pdfa !== undefined) params.set("pdfa", String(options.pdfa));
    const response = await this.bridge.request("GET", `/api/storage/documents/${this.uid}/content?${params}`, { headers: this.#headers() });
    return response.blob();
  }

  /**
   * Downloads the document as a file (the browser's save dialog or download folder).
   * @param {string} fileName e.g. "scan.pdf"
   * @param {{type?: "application/pdf"|"image/tiff"|"text/plain"|"text/html", ocr?: string, pdfa?: boolean,
   *          query?: Record<string,string>}} [options] `query`: e.g. `{compression: "7"}`
   * @returns {Promise<Blob>} the saved content
   */
  async save(fileName, options = {}) {
    const blob = await this.content(options);
    saveBlob(blob, fileName);
    return blob;
  }

  /**
   * Has the service upload the document (HTTP POST multipart or PUT); progress arrives as
   * "upload" events (`ScanBridge.subscribe`) and from `ScanBridge.uploadStatus`.
   * @param {{url: string, method?: "POST"|"PUT", type?: "application/pdf"|"image/tiff", fileName?: string,
   *          fieldName?: string, formFields?: Record<string,string>, headers?: Record<string,string>}} target
   * @returns {Promise<string>} the upload id
   */
  async upload(target) {
    const answer = await (await this.bridge.request("POST", `/api/storage/documents/${this.uid}/upload`, {
      json: target, headers: this.#headers(),
    })).json();
    return answer.upload;
  }

  /**
   * Deletes the document.
   * @returns {Promise<void>}
   */
  async delete() {
    await this.bridge.request("DELETE", `/api/storage/documents/${this.uid}`, { headers: this.#headers() });
  }
}

/**
 * Offers a Blob as a download named `fileName`.
 * @param {Blob} blob
 * @param {string} fileName
 */
export function saveBlob(blob, fileName) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
