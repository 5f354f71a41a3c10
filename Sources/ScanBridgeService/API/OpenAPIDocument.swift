import Foundation
import ScanBridgeCore
import ScanBridgeHTTP

/// ScanBridge's own OpenAPI 3.0 document for everything the core ports serve, at
/// `GET /api/openapi.json`. Built from the table below so that each operation lists every
/// status it can answer with; the conformance suite runs schemathesis against it.
enum OpenAPIDocument {
    typealias JSON = [String: Any]
    // The tables below are immutable JSON-shaped dictionaries (`Any` is not Sendable, hence
    // `nonisolated(unsafe)`); they are only read, once, to build the document.

    static func register(on router: inout Router) {
        let bytes = (try? JSONSerialization.data(withJSONObject: document(), options: [.sortedKeys])).map { [UInt8]($0) } ?? []
        router.get("/api/openapi.json") { _ in .json(raw: bytes) }
    }

    // MARK: - Schemas

    nonisolated(unsafe) static let schemas: JSON = [
        "Error": object(["code": integer, "message": string, "statusCode": integer,
                         "cause": object(["code": integer, "message": string], required: ["code", "message"])],
                        required: ["code", "message", "statusCode"]),
        "ServerSettings": object(["logLevel": integer, "ioEngine": string, "version": string, "uptime": integer,
                                  "ocrLanguages": ["type": "array", "items": string]],
                                 required: ["logLevel"]),
        "ServerSettingsInput": object(["logLevel": ["type": "integer", "minimum": 0, "maximum": 100]], required: []),
        "VersionInfo": object(["version": string, "compatible": ["type": "boolean"]], required: ["version", "compatible"]),
        "Scanner": object(["name": string, "type": integer,
                           "device": ["type": "string", "description": "A JSON string of the scanner details; passed back unchanged"]],
                          required: ["name", "type", "device"]),
        "DeviceConfiguration": ["type": "object", "additionalProperties": true, "properties": [
            "PixelType": ["type": "integer", "enum": [0, 1, 2]], "Resolution": ["type": "number", "minimum": 1, "maximum": 1200],
            "IfFeederEnabled": boolean, "IfDuplexEnabled": boolean, "XferCount": ["type": "integer", "minimum": -1, "maximum": 20],
            "PageSize": ["type": "integer", "minimum": 0, "maximum": 60],
            "Brightness": ["type": "number", "minimum": -1000, "maximum": 1000],
            "Contrast": ["type": "number", "minimum": -1000, "maximum": 1000]]],
        "CreateScanJobOptions": ["type": "object", "properties": [
            "device": ["type": "string", "description": "Scanner.device, or a bare scanner id"],
            "autoRun": boolean, "requestFocusForScanningUI": boolean, "jobTimeout": ["type": "integer", "minimum": 0, "maximum": 60],
            "scannerFailureTimeout": ["type": "integer", "minimum": 1, "maximum": 30], "checkFeederLoaded": boolean,
            "config": ref("DeviceConfiguration"), "settings": string,
            "caps": object(["exception": string, "capabilities": ["type": "array", "items": object(
                ["capability": integer, "curValue": ["type": "number"]], required: ["capability", "curValue"])]],
                required: ["capabilities"])]],
        "ScannerJob": object(["jobuid": string, "status": jobStatus, "scanner": ref("Scanner"),
                              "adjustments": ["type": "array", "items": string]], required: ["jobuid", "status", "scanner"]),
        "ScannerJobInfo": object(["status": jobStatus, "code": integer, "message": string], required: ["status", "code", "message"]),
        "JobStatusInput": object(["status": ["type": "string", "enum": ["running", "canceled"]]], required: ["status"]),
        "JobStatus": object(["status": jobStatus], required: ["status"]),
        "Capability": object(["capability": integer, "name": string, "curValue": string,
                              "values": ["type": "array", "items": string],
                              "range": object(["min": number, "max": number, "step": number], required: ["min", "max", "step"])],
                             required: ["capability", "name"]),
        "ScannerSettings": object(["settings": string], required: ["settings"]),
        "ScanDocumentInfo": object([
            "imageId": integer, "imageuid": string, "url": string,
            "extendedImageInfo": ["type": "object"],
            "imageInfo": object([
                "ImageWidth": integer, "ImageLength": integer, "BitsPerPixel": integer,
                "BitsPerSample": ["type": "array", "items": integer], "SamplesPerPixel": integer, "PixelType": integer,
                "XResolution": number, "YResolution": number, "Compression": integer, "Planar": boolean,
                "ImageLayout": object(["PageNumber": integer, "DocumentNumber": integer, "FrameNumber": integer,
                                       "Frame": object(["Left": number, "Top": number, "Right": number, "Bottom": number],
                                                       required: ["Left", "Top", "Right", "Bottom"])],
                                      required: ["PageNumber", "DocumentNumber", "FrameNumber", "Frame"])],
                required: ["ImageWidth", "ImageLength", "BitsPerPixel", "BitsPerSample", "SamplesPerPixel", "PixelType",
                           "XResolution", "YResolution", "Compression", "Planar", "ImageLayout"])],
            required: ["imageId", "imageuid", "imageInfo", "extendedImageInfo", "url"]),
        "CameraResolution": object(["width": integer, "height": integer], required: ["width", "height"]),
        "Camera": object(["id": string, "name": string, "driver": string, "path": string, "busInfo": string,
                          "mediaTypes": ["type": "array", "items": object(
                              ["mediaType": string, "description": string, "supported": boolean,
                               "resolutions": ["type": "array", "items": ref("CameraResolution")]],
                              required: ["mediaType", "description", "supported", "resolutions"])]],
                         required: ["id", "name", "driver", "path", "busInfo", "mediaTypes"]),
        "CaptureOptions": ["type": "object", "properties": [
            "device": ["type": "string", "description": "Camera.id or its device path (camera jobs)"], "mediaType": string,
            "width": ["type": "integer", "minimum": 1], "height": ["type": "integer", "minimum": 1],
            "maxPages": ["type": "integer", "minimum": -1], "interval": ["type": "integer", "minimum": 0, "maximum": 3_600_000],
            "warmUpFrames": ["type": "integer", "minimum": 0, "maximum": 100]]],
        "CameraStill": object(["jobuid": string, "camera": string, "mediaType": string, "width": integer, "height": integer,
                               "page": ref("ScanDocumentInfo")],
                              required: ["jobuid", "camera", "mediaType", "width", "height", "page"]),
        "CameraJob": object(["jobuid": string, "status": jobStatus, "camera": ref("Camera"), "mediaType": string,
                             "width": integer, "height": integer, "adjustments": ["type": "array", "items": string]],
                            required: ["jobuid", "status", "camera", "mediaType", "width", "height", "adjustments"]),
        "BufferPage": object(["id": integer, "uid": string, "index": integer, "width": integer, "height": integer, "job": string,
                              "thumbnail": string, "url": string],
                             required: ["id", "uid", "index", "width", "height", "thumbnail"]),
        "BufferRotation": object(["degrees": ["type": "integer", "description": "A multiple of 90, clockwise positive"]],
                                 required: ["degrees"]),
        "BufferOrder": object(["ids": ["type": "array", "items": integer, "uniqueItems": true]], required: ["ids"]),
        "CreateDocumentOptions": ["type": "object", "properties": ["password": ["type": "string", "maxLength": 32],
                                                                    "ocr": string, "pdfa": boolean]],
        "DocumentInfo": object(["uid": string, "pages": ["type": "array", "items": object(["uid": string], required: ["uid"])],
                                "metadata": ref("DocumentMetadata")],
                               required: ["uid", "pages"]),
        "DocumentMetadata": object(["title": string, "author": string, "subject": string, "keyWords": string, "creator": string,
                                    "producer": string, "creationDate": string, "modifiedDate": string, "compression": string], required: []),
        "RotateOptions": object(["source": string, "settings": object(["rotation": ["type": "number", "minimum": -360, "maximum": 360],
                                                                     "keepSize": boolean], required: ["rotation"])],
                                required: ["source", "settings"]),
        "SourceOptions": object(["source": string], required: ["source"]),
        "SkewAngle": object(["result": number], required: ["result"]),
        "InsertPageOptions": object(["source": string, "insertPos": integer, "password": string], required: ["source"]),
        // check-blank takes {minBlockHeight, maxBlockHeight}; read-barcode a template object or its name.
        "CreateProcessOptions": object(["source": string, "settings": ["oneOf": [["type": "object"], string]]], required: ["source"]),
        "OperationResult": object(["result": boolean], required: ["result"]),
        "BarcodeResult": object(["barcodeFormatString": string, "barcodeText": string,
                                 "barcodeBytes": ["type": "array", "items": integer],
                                 "localizationResult": ["type": "object"]],
                                required: ["barcodeFormatString", "barcodeText", "barcodeBytes", "localizationResult"]),
        "UploadRequest": object(["document": string, "password": string, "format": string, "pages": string,
                                 "quality": integer, "fileName": string, "target": ["type": "object"], "options": ["type": "object"]],
                                required: ["document", "target"]),
        "UploadStatus": ["type": "object", "required": ["id", "state"],
                         "properties": ["id": string, "state": ["type": "string",
                             "enum": ["queued", "uploading", "retrying", "succeeded", "failed", "canceled"]]]],
        "SeedEnvelope": object(["id": string, "method": string, "result": ["type": "array"], "cmdId": string],
                               required: ["id", "method", "result", "cmdId"]),
    ]

    // MARK: - Operations

    struct Operation {
        var method: String
        var path: String
        var summary: String
        var parameters: [JSON] = []
        var body: String?
        var success: (status: String, content: JSON?)
        var errors: [Int]
    }

    nonisolated(unsafe) static let jobuid = pathParameter("jobuid"), documentuid = pathParameter("uid")
    nonisolated(unsafe) static let passwordHeader: JSON = ["name": "DWT-DOC-PASSWORD", "in": "header", "schema": ["type": "string", "maxLength": 32]]
    nonisolated(unsafe) static let imageContent: JSON = ["image/png": binary, "image/jpeg": binary]

    nonisolated(unsafe) static let imageType = query("type", ["type": "string", "enum": ["image/png", "image/jpeg"]])
    nonisolated(unsafe) static let documentContent: JSON = ["application/pdf": binary, "image/tiff": binary, "image/jpeg": binary, "image/png": binary]
    nonisolated(unsafe) static let contentQuery: [JSON] = [
        query("type", ["type": "string", "enum": ["application/pdf", "image/tiff", "image/jpeg", "image/png"]]),
        query("pages", string), query("quality", ["type": "integer", "minimum": 1, "maximum": 100]), query("compression", integer),
        query("pageType", string), query("title", string), query("author", string), query("version", string), query("password", string)]

    nonisolated(unsafe) static let operations: [Operation] = [
        Operation(method: "get", path: "/api/server", summary: "Server settings", success: ("200", json("ServerSettings")), errors: [405]),
        Operation(method: "patch", path: "/api/server", summary: "Update server settings", body: "ServerSettingsInput",
                  success: ("200", json("ServerSettings")), errors: [400, 405]),
        Operation(method: "get", path: "/api/server/version", summary: "API version", success: ("200", json("VersionInfo")), errors: [405]),
        Operation(method: "get", path: "/api/device/scanners", summary: "List scanners",
                  parameters: [query("type", ["type": "integer", "minimum": 0, "maximum": 4095])],
                  success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("Scanner")]]]), errors: [400, 405]),
        Operation(method: "post", path: "/api/device/scanners/jobs", summary: "Create a scan job",
                  parameters: [["name": "DWT-PRODUCT-KEY", "in": "header", "schema": string]], body: "CreateScanJobOptions",
                  success: ("201", json("ScannerJob")), errors: [400, 403, 404, 405, 423, 503]),
        Operation(method: "get", path: "/api/device/scanners/jobs/{jobuid}", summary: "Job status", parameters: [jobuid],
                  success: ("200", json("ScannerJobInfo")), errors: [403, 404, 405, 410]),
        Operation(method: "patch", path: "/api/device/scanners/jobs/{jobuid}", summary: "Start or cancel a job",
                  parameters: [jobuid], body: "JobStatusInput", success: ("200", json("JobStatus")), errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "delete", path: "/api/device/scanners/jobs/{jobuid}", summary: "Delete a job", parameters: [jobuid],
                  success: ("204", nil), errors: [403, 404, 405, 410]),
        Operation(method: "get", path: "/api/device/scanners/jobs/{jobuid}/scanner/capabilities", summary: "Capabilities of a pending job",
                  parameters: [jobuid, query("caps", string)],
                  success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("Capability")]]]),
                  errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "get", path: "/api/device/scanners/jobs/{jobuid}/scanner/settings", summary: "Settings of a pending job",
                  parameters: [jobuid, query("showui", boolean)], success: ("200", json("ScannerSettings")),
                  errors: [403, 404, 405, 409, 410]),
        Operation(method: "get", path: "/api/device/scanners/jobs/{jobuid}/next-page-info", summary: "Wait for the next page's info",
                  parameters: [jobuid], success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("ScanDocumentInfo")]]]),
                  errors: [204, 403, 404, 405, 409, 410]),
        Operation(method: "get", path: "/api/device/scanners/jobs/{jobuid}/next-page", summary: "Wait for the next page",
                  parameters: [jobuid, query("type", ["type": "string", "enum": ["image/png", "image/jpeg"]]), query("page", string)],
                  success: ("200", imageContent), errors: [204, 400, 403, 404, 405, 409, 410]),
        Operation(method: "get", path: "/api/device/scanners/jobs/{jobuid}/content", summary: "A finished job's pages as one document",
                  parameters: [jobuid] + contentQuery, success: ("200", documentContent), errors: [204, 400, 403, 404, 405, 409, 410]),
        Operation(method: "get", path: "/api/cameras", summary: "List cameras (ScanBridge)",
                  success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("Camera")]]]), errors: [405]),
        Operation(method: "get", path: "/api/cameras/{cameraid}", summary: "One camera, by id or device path (ScanBridge)",
                  parameters: [pathParameter("cameraid")], success: ("200", json("Camera")), errors: [404, 405]),
        Operation(method: "post", path: "/api/cameras/{cameraid}/capture", summary: "Capture a still into the buffer (ScanBridge)",
                  parameters: [pathParameter("cameraid")], body: "CaptureOptions", success: ("201", json("CameraStill")),
                  errors: [400, 403, 404, 405, 423, 503]),
        Operation(method: "post", path: "/api/cameras/jobs", summary: "Create a camera job: repeated capture (ScanBridge)",
                  body: "CaptureOptions", success: ("201", json("CameraJob")), errors: [400, 403, 404, 405, 423]),
        Operation(method: "post", path: "/api/storage/documents", summary: "Create a document", body: "CreateDocumentOptions",
                  success: ("201", json("DocumentInfo")), errors: [400, 405, 500]),
        Operation(method: "get", path: "/api/storage/documents/{uid}", summary: "Document info", parameters: [documentuid, passwordHeader],
                  success: ("200", json("DocumentInfo")), errors: [400, 403, 404, 405]),
        Operation(method: "patch", path: "/api/storage/documents/{uid}", summary: "Set a document's metadata (PDF Info defaults)",
                  parameters: [documentuid, passwordHeader], body: "DocumentMetadata", success: ("200", json("DocumentInfo")),
                  errors: [400, 403, 404, 405]),
        Operation(method: "delete", path: "/api/storage/documents/{uid}", summary: "Delete a document", parameters: [documentuid, passwordHeader],
                  success: ("204", nil), errors: [400, 403, 404, 405]),
        Operation(method: "get", path: "/api/storage/documents/{uid}/content", summary: "Document content",
                  parameters: [documentuid, passwordHeader,
                               query("type", ["type": "string", "enum": ["application/pdf", "image/tiff", "image/jpeg", "image/png",
                                                                         "text/plain", "text/html"]]),
                               query("pages", string), query("quality", ["type": "integer", "minimum": 1, "maximum": 100]),
                               query("compression", integer), query("pageType", integer), query("version", string),
                               query("password", ["type": "string", "maxLength": 32]),
                               query("ocr", ["type": "string", "description": "An OCR language of GET /api/server's ocrLanguages (eng, eng+deu)"]),
                               query("pdfa", ["type": "boolean"])]
                      + ["author", "creator", "creationDate", "keyWords", "modifiedDate", "producer", "subject", "title"]
                        .map { query($0, string) },
                  success: ("200", ["application/pdf": binary, "image/tiff": binary, "image/jpeg": binary, "image/png": binary,
                                    "text/plain": ["schema": ["type": "string"]], "text/html": ["schema": ["type": "string"]]]),
                  errors: [400, 403, 404, 405]),
        Operation(method: "post", path: "/api/storage/documents/{uid}/pages", summary: "Insert a page from a page URL",
                  parameters: [documentuid, passwordHeader], body: "InsertPageOptions", success: ("200", json("DocumentInfo")),
                  errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "delete", path: "/api/storage/documents/{uid}/pages/{page}", summary: "Delete a page by uid or index",
                  parameters: [documentuid, pathParameter("page"), passwordHeader], success: ("204", nil), errors: [400, 403, 404, 405]),
        Operation(method: "get", path: "/api/storage/documents/{uid}/pages/{page}", summary: "A stored page as an image (ScanBridge)",
                  parameters: [documentuid, pathParameter("page"), passwordHeader, query("type", string)],
                  success: ("200", imageContent), errors: [400, 403, 404, 405]),
        Operation(method: "post", path: "/api/storage/documents/{uid}/import", summary: "Import an image file or a PDF as pages (ScanBridge)",
                  parameters: [documentuid, passwordHeader, query("insertPos", integer), query("password", string),
                               query("dpi", ["type": "integer", "minimum": 36, "maximum": 600])], body: nil,
                  success: ("200", json("DocumentInfo")), errors: [400, 403, 404, 405, 413]),
        Operation(method: "get", path: "/api/buffer", summary: "This origin's buffered pages (ScanBridge)",
                  success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("BufferPage")]]]), errors: [405]),
        Operation(method: "post", path: "/api/buffer/import", summary: "Import an image file or a PDF into the buffer (ScanBridge)",
                  parameters: [query("insertPos", integer), query("password", string),
                               query("dpi", ["type": "integer", "minimum": 36, "maximum": 600])], body: nil,
                  success: ("201", ["application/json": ["schema": ["type": "array", "items": ref("BufferPage")]]]),
                  errors: [400, 403, 405, 413, 503, 507]),
        Operation(method: "get", path: "/api/buffer/{id}/thumbnail", summary: "A buffered page's thumbnail (ScanBridge)",
                  parameters: [pathParameter("id"), query("size", ["type": "integer", "minimum": 16, "maximum": 2048])],
                  success: ("200", ["image/jpeg": binary]), errors: [400, 403, 404, 405]),
        Operation(method: "post", path: "/api/buffer/{id}/rotate", summary: "Rotate a buffered page by quarter turns (ScanBridge)",
                  parameters: [pathParameter("id")], body: "BufferRotation", success: ("200", json("BufferPage")),
                  errors: [400, 403, 404, 405]),
        Operation(method: "delete", path: "/api/buffer/{id}", summary: "Remove a buffered page (ScanBridge)",
                  parameters: [pathParameter("id")], success: ("204", nil), errors: [400, 403, 404, 405]),
        Operation(method: "post", path: "/api/buffer/reorder", summary: "Put these buffered pages in this order, in their slots (ScanBridge)",
                  body: "BufferOrder", success: ("204", nil), errors: [400, 403, 404, 405]),
        Operation(method: "post", path: "/api/process/check-blank", summary: "Is a page blank", body: "CreateProcessOptions",
                  success: ("200", json("OperationResult")), errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "post", path: "/api/process/read-barcode", summary: "Read barcodes on a page", body: "CreateProcessOptions",
                  success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("BarcodeResult")]]]),
                  errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "post", path: "/api/process/rotate", summary: "A page rotated", parameters: [imageType], body: "RotateOptions",
                  success: ("200", imageContent), errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "post", path: "/api/process/calculate-skew-angle", summary: "A page's skew in degrees", body: "SourceOptions",
                  success: ("200", json("SkewAngle")), errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "post", path: "/api/process/deskew", summary: "A page straightened (ScanBridge)", parameters: [imageType],
                  body: "SourceOptions", success: ("200", imageContent), errors: [400, 403, 404, 405, 409, 410]),
        Operation(method: "post", path: "/api/process/{operation}", summary: "Any other operation: not offered (400)",
                  parameters: [pathParameter("operation")], body: "CreateProcessOptions", success: ("400", json("Error")), errors: [405]),
        Operation(method: "post", path: "/api/uploads", summary: "Upload a stored document to a target (ScanBridge)",
                  parameters: [passwordHeader], body: "UploadRequest", success: ("202", json("UploadStatus")),
                  errors: [400, 403, 404, 405, 500]),
        Operation(method: "get", path: "/api/uploads", summary: "Uploads of this run (ScanBridge)",
                  success: ("200", ["application/json": ["schema": ["type": "array", "items": ref("UploadStatus")]]]), errors: [405]),
        Operation(method: "get", path: "/api/uploads/{id}", summary: "Status of an upload (ScanBridge)", parameters: [pathParameter("id")],
                  success: ("200", json("UploadStatus")), errors: [404, 405]),
        Operation(method: "delete", path: "/api/uploads/{id}", summary: "Cancel an upload (ScanBridge)", parameters: [pathParameter("id")],
                  success: ("200", json("UploadStatus")), errors: [404, 405]),
        Operation(method: "get", path: "/api/uploads/{id}/events", summary: "Upload progress as server-sent events (ScanBridge)",
                  parameters: [pathParameter("id")], success: ("200", ["text/event-stream": ["schema": string]]), errors: [404, 405]),
        Operation(method: "get", path: "/fa/VersionInfo", summary: "Service version (seed envelope)", parameters: [query("ts", string)],
                  success: ("200", json("SeedEnvelope")), errors: [405]),
        Operation(method: "get", path: "/f/RemoveAllImages", summary: "Empty the image buffer (seed envelope)",
                  success: ("200", json("SeedEnvelope")), errors: [405]),
    ]

    /// A camera job is a scan job: the routes every job has are served under /api/cameras/jobs too.
    static var cameraJobOperations: [Operation] {
        let scannerJobs = "/api/device/scanners/jobs/{jobuid}"
        return operations.filter { $0.path.hasPrefix(scannerJobs) && !$0.path.contains("/scanner/") }.map { operation in
            var alias = operation
            alias.path = "/api/cameras/jobs/{jobuid}" + operation.path.dropFirst(scannerJobs.count)
            alias.summary += " (camera job)"
            return alias
        }
    }

    static func document() -> JSON {
        var paths: [String: JSON] = [:]
        for operation in operations + cameraJobOperations {
            var responses: [String: Any] = [:]
            var success: JSON = ["description": operation.success.status.hasPrefix("2") ? "Success" : "Error"]
            if let content = operation.success.content { success["content"] = content }
            responses[operation.success.status] = success
            // A document's password is checked under a back-off: repeated wrong guesses get 429.
            let takesPassword = operation.parameters.contains { ($0["name"] as? String) == "DWT-DOC-PASSWORD" }
            for status in operation.errors + (takesPassword ? [429] : []) {
                responses[String(status)] = status == 204
                    ? ["description": "No more pages"]
                    : ["description": "Error", "content": ["application/json": ["schema": ref("Error")]]]
            }
            var entry: JSON = ["summary": operation.summary, "operationId": "\(operation.method) \(operation.path)",
                               "parameters": operation.parameters, "responses": responses]
            if let body = operation.body {
                entry["requestBody"] = ["required": false, "content": ["application/json": ["schema": ref(body)]]]
            } else if operation.path.hasSuffix("/import") {
                entry["requestBody"] = ["required": true, "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]
            }
            paths[operation.path, default: [:]][operation.method] = entry
        }
        return ["openapi": "3.0.3",
                "info": ["title": "ScanBridge: DWT Service REST API", "version": ProductVersion.semantic,
                         "description": "The Dynamic Web TWAIN Service REST API as ScanBridge serves it, plus ScanBridge's extensions."],
                "paths": paths, "components": ["schemas": schemas]]
    }

    // MARK: - Helpers

    nonisolated(unsafe) static let string: JSON = ["type": "string"]
    nonisolated(unsafe) static let integer: JSON = ["type": "integer"]
    nonisolated(unsafe) static let number: JSON = ["type": "number"]
    nonisolated(unsafe) static let boolean: JSON = ["type": "boolean"]
    nonisolated(unsafe) static let binary: JSON = ["schema": ["type": "string", "format": "binary"]]
    nonisolated(unsafe) static let jobStatus: JSON = ["type": "string", "enum": ["pending", "running", "completed", "faulted", "canceled", "interrupted"]]

    static func ref(_ name: String) -> JSON { ["$ref": "#/components/schemas/\(name)"] }
    static func json(_ schema: String) -> JSON { ["application/json": ["schema": ref(schema)]] }
    static func object(_ properties: JSON, required: [String]) -> JSON {
        var result: JSON = ["type": "object", "properties": properties]
        if !required.isEmpty { result["required"] = required }
        return result
    }
    static func query(_ name: String, _ schema: JSON) -> JSON { ["name": name, "in": "query", "required": false, "schema": schema] }
    static func pathParameter(_ name: String) -> JSON { ["name": name, "in": "path", "required": true, "schema": ["type": "string"]] }
}
