// Type declarations for the ScanBridge browser SDK (/scanbridge.js, npm package scanbridge-sdk).

/** The SDK version: the ScanBridge version it ships with. */
export declare const VERSION: string;
/** Default ports of the service's API listeners. */
export declare const DEFAULT_PORTS: Readonly<{ https: number; http: number }>;
/** DWT's PDF compression codes for `ScanDocument.content`/`save` (`query.compression`). */
export declare const PDF_COMPRESSION: Readonly<{ auto: 0; ccittG4: 2; lossless: 3; jpeg: 5; jbig2: 7 }>;

/** What went wrong. */
export type ScanBridgeErrorKind = "absent" | "origin-refused" | "network-blocked" | "http" | "scan" | "aborted";

/**
 * Why the browser blocked the page (kind "network-blocked"):
 * "permission-denied": Local Network Access is blocked for this site (site settings, or the
 * LocalNetworkAccessAllowedForUrls policy); "frame-policy": the page runs in a cross-origin iframe
 * without `allow="local-network-access"`; "insecure-context": the page is not served over HTTPS.
 */
export type NetworkBlockReason = "permission-denied" | "frame-policy" | "insecure-context";

/** An error from the SDK or the service. */
export declare class ScanBridgeError extends Error {
  constructor(message: string, details?: { kind?: ScanBridgeErrorKind; code?: number; status?: number; cause?: unknown; reason?: NetworkBlockReason });
  readonly kind: ScanBridgeErrorKind;
  /** The DWT error code (≤ 0), -1 when none. */
  readonly code: number;
  /** The HTTP status, 0 when there was no answer. */
  readonly status: number;
  /** Set when kind is "network-blocked". */
  readonly reason?: NetworkBlockReason;
}

export interface ConnectOptions {
  /** API roots to try in this order, e.g. ["https://127.0.0.1:18623", "http://127.0.0.1:18622"]. */
  endpoints?: string[];
  host?: string;
  httpsPort?: number;
  httpPort?: number;
  /** Per endpoint, default 4000. */
  timeoutMs?: number;
}

/**
 * Connects to the service on this computer: https first, then http (http first on an HTTPS page
 * once the browser allows local network access). Call it from a user gesture (a click), not at
 * page load: in Chrome 142+ the first request from a public site to this computer makes the
 * browser ask the user for Local Network Access. Rejects with a `ScanBridgeError` of kind
 * "absent", "network-blocked" or "origin-refused".
 */
export declare function connect(options?: ConnectOptions): Promise<ScanBridge>;

/** The state of the browser's Local Network Access permission; "unsupported" where there is none. */
export type LocalNetworkAccessState = "granted" | "prompt" | "denied" | "unsupported";

/**
 * Reads, without asking the user, whether the browser lets this page reach ScanBridge on `host`
 * (default 127.0.0.1). "granted" or "unsupported": `connect()` may run at page load; "prompt":
 * call `connect()` from a click; "denied": tell the user to allow it in the site settings.
 */
export declare function localNetworkAccess(options?: { host?: string }): Promise<LocalNetworkAccessState>;

/** Whether a URL's hostname is this computer (127.0.0.0/8, ::1, localhost). */
export declare function isLoopbackHost(host: string): boolean;

export interface ServerInfo {
  version: string;
  ioEngine: string;
  logLevel: number;
  uptime: number;
  /** The OCR languages installed (values of `ocr`). */
  ocrLanguages?: string[];
}

/** What a document is rendered as (`ScanDocument.content`, `save`). */
export interface ContentOptions {
  type?: "application/pdf" | "image/tiff" | "image/jpeg" | "image/png" | "text/plain" | "text/html";
  /** An OCR language: a searchable PDF; needed for "text/plain" and "text/html" (hOCR). */
  ocr?: string;
  /** PDF/A-2b (no password). */
  pdfa?: boolean;
  query?: Record<string, string>;
}

export interface Scanner {
  name: string;
  type: number;
  /** Pass back as `ScanOptions.device`. */
  device: string;
}

/** A pixel format of a camera (DWT's webcam add-on calls it a media type). */
export interface CameraMediaType {
  /** The V4L2 FOURCC, e.g. "MJPG" or "YUYV". */
  mediaType: string;
  description: string;
  /** Whether ScanBridge can capture in it. */
  supported: boolean;
  resolutions: Array<{ width: number; height: number }>;
}

export interface Camera {
  /** Pass back as the `camera` of the capture calls (the device path works too). */
  id: string;
  name: string;
  driver: string;
  path: string;
  busInfo: string;
  mediaTypes: CameraMediaType[];
}

export interface CaptureOptions {
  /** A FOURCC of the camera's `mediaTypes`; default: JPEG first. */
  mediaType?: string;
  /** Give both width and height (one of the media type's resolutions), or neither. */
  width?: number;
  height?: number;
  /** Frames dropped while the camera's exposure settles (default 3). */
  warmUpFrames?: number;
}

export interface CaptureStreamOptions extends CaptureOptions {
  /** Pages to capture (default 1; -1 until the loop ends). */
  maxPages?: number;
  /** Milliseconds between captures (default 1000). */
  interval?: number;
  signal?: AbortSignal;
  onJob?: (job: string) => void;
}

/** DWT job configuration (subset). */
export interface ScanConfig {
  IfShowUI?: boolean;
  PixelType?: 0 | 1 | 2;
  Resolution?: number;
  IfFeederEnabled?: boolean;
  IfDuplexEnabled?: boolean;
  XferCount?: number;
  Brightness?: number;
  Contrast?: number;
  [key: string]: unknown;
}

export interface ScanOptions {
  device?: string;
  config?: ScanConfig;
  caps?: unknown;
  signal?: AbortSignal;
  onJob?: (job: string) => void;
}

export interface ScannedPage {
  /** Buffer id. */
  id: number;
  uid: string;
  job: string;
  pageNumber: number;
  width: number;
  height: number;
  /** The page's URL (a `source` for documents and processing). */
  url: string;
  /** JPEG thumbnail; load with `crossOrigin = "anonymous"`. */
  thumbnailUrl: string;
}

export interface DocumentInfo {
  uid: string;
  pages: Array<{ uid: string }>;
}

export interface UploadTarget {
  url: string;
  method?: "POST" | "PUT";
  type?: "application/pdf" | "image/tiff";
  fileName?: string;
  fieldName?: string;
  formFields?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface UploadStatus {
  upload: string;
  state: "queued" | "uploading" | "retrying" | "succeeded" | "failed" | "canceled";
  sent: number;
  total: number;
  statusCode?: number;
  message?: string;
}

/** Events of `ScanBridge.subscribe`. */
export type ScanBridgeEvent =
  | { type: "hello"; id: string; data: { epoch: string; heartbeat: number } }
  | { type: "reset"; id: string; data: { reason: string } }
  | { type: "job"; id: string; data: { job: string; status: string; code: number; message: string; pages: number; scanner: string } }
  | { type: "page"; id: string; data: { job: string; id: number; uid: string; pageNumber: number; width: number; height: number; thumbnail: string; url: string } }
  | { type: "buffer"; id: string; data: { change: "added" | "removed" | "rotated" | "moved"; ids: number[] } }
  | { type: "upload"; id: string; data: { upload: string; document: string; state: string; sent: number; total: number; message?: string } }
  | { type: "ocr"; id: string; data: { source: string; page: string; language: string; state: "started" | "running" | "done" | "reused" | "cancelled" | "failed"; percent?: number } };

export declare class ScanBridge {
  constructor(base: string, server: ServerInfo);
  readonly base: string;
  readonly server: ServerInfo;
  request(method: string, path: string, options?: { json?: unknown; body?: Blob | ArrayBuffer | Uint8Array; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response>;
  url(path: string): string;
  serverInfo(): Promise<ServerInfo>;
  listScanners(options?: { refresh?: boolean }): Promise<Scanner[]>;
  listCameras(): Promise<Camera[]>;
  getCamera(camera: string): Promise<Camera>;
  captureStill(camera: string, options?: CaptureOptions): Promise<ScannedPage & { mediaType: string }>;
  captureStream(camera: string, options?: CaptureStreamOptions): AsyncGenerator<ScannedPage, void, undefined>;
  jobPage(info: object, job: string): ScannedPage;
  followJob(job: string, prefix: string, options: { signal?: AbortSignal; onJob?: (job: string) => void }, failure: string): AsyncGenerator<ScannedPage, void, undefined>;
  scan(options?: ScanOptions): AsyncGenerator<ScannedPage, void, undefined>;
  cancelJob(job: string): Promise<void>;
  deleteJob(job: string): Promise<void>;
  thumbnailUrl(id: number, size?: number): string;
  rotatePage(id: number, degrees: number): Promise<{ id: number; width: number; height: number }>;
  deletePage(id: number): Promise<void>;
  reorderPages(ids: number[]): Promise<void>;
  /** Imports an image file or a PDF into the buffer as this origin's pages (all pages or none). */
  importToBuffer(file: Blob | ArrayBuffer | Uint8Array, options?: { at?: number; dpi?: number; pdfPassword?: string }): Promise<ScannedPage[]>;
  createDocument(options?: { password?: string; ocr?: string; pdfa?: boolean }): Promise<ScanDocument>;
  /** The OCR languages installed on the service. */
  ocrLanguages(): Promise<string[]>;
  document(uid: string, options?: { password?: string }): ScanDocument;
  subscribe(handler: (event: ScanBridgeEvent) => void, options?: { types?: string[] }): () => void;
  uploadStatus(upload: string): Promise<UploadStatus>;
}

export declare class ScanDocument {
  constructor(bridge: ScanBridge, uid: string, password?: string);
  readonly bridge: ScanBridge;
  readonly uid: string;
  info(): Promise<DocumentInfo>;
  insert(pages: Array<ScannedPage | string>, options?: { at?: number }): Promise<DocumentInfo>;
  reorder(pageUids: string[]): Promise<DocumentInfo>;
  rotate(page: string | number, degrees: number): Promise<DocumentInfo>;
  deletePage(page: string | number): Promise<void>;
  content(options?: ContentOptions): Promise<Blob>;
  save(fileName: string, options?: ContentOptions): Promise<Blob>;
  /** Imports an image file or a PDF (all pages or none). */
  importFile(file: Blob | ArrayBuffer | Uint8Array, options?: { at?: number; dpi?: number; pdfPassword?: string }): Promise<{ uid: string; pages: Array<{ uid: string }> }>;
  /** Page 1 rendered as asked, times the page count. */
  expectedSize(options?: { type?: "application/pdf" | "image/tiff"; compression?: number }): Promise<{ bytes: number; pages: number; firstPage: number }>;
  upload(target: UploadTarget): Promise<string>;
  delete(): Promise<void>;
}

/** Offers a Blob as a download. */
export declare function saveBlob(blob: Blob, fileName: string): void;
