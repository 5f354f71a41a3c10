import Foundation
import HTTPTypes
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeHTTP

/// `/api/cameras…` (ScanBridge extension; DWT's webcam add-on has no REST API, so the names
/// follow its JavaScript API: a camera's `mediaTypes` and `resolutions`):
///
/// - `GET /api/cameras`, `GET /api/cameras/{cameraid}`: the V4L2 cameras of `CameraDeviceFolder`
///   with their pixel formats and frame sizes;
/// - `POST /api/cameras/{cameraid}/capture` `{"mediaType", "width", "height"}`: one still into
///   the buffer, as a job of one page (201, the job and the page's `next-page-info` entry);
/// - `POST /api/cameras/jobs` `{"device", "mediaType", "width", "height", "maxPages", "interval"}`:
///   a job that captures a page every `interval` ms; its pages are read, and the job deleted,
///   like a scan job's (`DeviceRoutes` serves `/api/cameras/jobs/{jobuid}…` too).
///
/// Camera jobs are scan jobs whose page source is a camera (`CameraPageSource`): their pages go
/// through the same stored-form pipeline into the buffer, belong to the creating origin, and
/// leave the buffer when the job is deleted.
struct CameraRoutes: Sendable {
    let service: ScanningService

    struct CameraEntry: Encodable {
        struct MediaType: Encodable {
            /// The FOURCC ("MJPG", "YUYV" …).
            var mediaType: String
            var description: String
            /// Whether ScanBridge can capture in it.
            var supported: Bool
            var resolutions: [CameraInfo.FrameSize]
        }

        var id: String
        var name: String
        var driver: String
        var path: String
        var busInfo: String
        var mediaTypes: [MediaType]

        init(_ camera: CameraInfo) {
            id = camera.id
            name = camera.name
            driver = camera.driver
            path = camera.path
            busInfo = camera.busInfo
            mediaTypes = camera.formats.map { MediaType(mediaType: $0.fourcc, description: $0.description, supported: $0.supported, resolutions: $0.sizes) }
        }
    }

    struct CaptureOptions: Decodable {
        /// The camera (its id or device path); the path names it for `…/capture`.
        var device: String?
        var mediaType: String?
        var width: Int?
        var height: Int?
        /// Pages to capture; -1 until the job is canceled or deleted. Default 1.
        var maxPages: Int?
        /// Milliseconds between captures, default 1000.
        var interval: Int?
        /// Frames dropped when the camera starts (exposure settling), default 3.
        var warmUpFrames: Int?
    }

    struct CameraJobResponse: Encodable {
        var jobuid: String
        var status: String
        var camera: CameraEntry
        /// What the camera streams in (the driver may change the size asked for).
        var mediaType: String
        var width: Int
        var height: Int
        var adjustments: [String]
    }

    struct StillResponse: Encodable {
        var jobuid: String
        var camera: String
        var mediaType: String
        var width: Int
        var height: Int
        var page: OutputInfo
    }

    func register(on router: inout Router) {
        router.get("/api/cameras") { _ in
            try .json(await CameraDiscovery.cameras(deviceDirectory: service.cameraFolder).map(CameraEntry.init))
        }

        router.get("/api/cameras/{cameraid}") { request in
            try .json(CameraEntry(try await camera(try request.parameters.require("cameraid"))))
        }

        router.post("/api/cameras/{cameraid}/capture") { request in
            var options = try await request.decodeJSON(CaptureOptions.self)
            options.device = try request.parameters.require("cameraid")
            options.maxPages = 1
            let (job, _, format) = try await startJob(options, request: request)
            let pages = try await job.finishedPages()
            guard let page = pages.first else {
                let code = await job.code, message = await job.message
                try? await service.jobs.delete(job.uid, origin: request.origin)
                throw ScanBridgeError(code: code == 0 ? DeviceErrorCode.generalFailure : code, message: message)
            }
            let info = DeviceRoutes.outputInfo(page, job: job.uid, base: request.baseURL)
            return try .json(StillResponse(jobuid: job.uid, camera: job.deviceID, mediaType: format.pixelFormat.rawValue,
                                           width: format.width, height: format.height, page: info), status: .created)
        }

        router.post("/api/cameras/jobs") { request in
            let options = try await request.decodeJSON(CaptureOptions.self, allowEmpty: false)
            guard options.device?.isEmpty == false else { throw DWTErrors.invalidParameter("device (a camera id or path) is required") }
            let (job, camera, format) = try await startJob(options, request: request)
            return try .json(CameraJobResponse(jobuid: job.uid, status: await job.status.rawValue, camera: CameraEntry(camera),
                                               mediaType: format.pixelFormat.rawValue, width: format.width, height: format.height,
                                               adjustments: job.adjustments), status: .created)
        }
    }

    /// The camera `reference` names: its id or its device path; -1003 (404) listing the cameras
    /// there are.
    private func camera(_ reference: String) async throws(ScanBridgeError) -> CameraInfo {
        let cameras = await CameraDiscovery.cameras(deviceDirectory: service.cameraFolder)
        if let match = cameras.first(where: { $0.id == reference || $0.path == reference }) { return match }
        let known = cameras.isEmpty ? "no camera is connected" : "cameras: " + cameras.map(\.id).joined(separator: ", ")
        throw ScanBridgeError(code: DeviceErrorCode.deviceNotFound, message: "No camera \(reference) (\(known))")
    }

    /// Checks the options, opens the camera (423 when a job holds it) and starts a job on it.
    private func startJob(_ options: CaptureOptions, request: Request) async throws -> (ScanJob, CameraInfo, CameraCaptureFormat) {
        // Cameras are devices like scanners: the same product-key rule applies.
        if !service.productKeys.isEmpty {
            guard let key = request.productKey, service.productKeys.contains(key) else { throw DWTErrors.invalidProductKey }
        }
        let maxPages = options.maxPages ?? 1
        guard maxPages == -1 || maxPages >= 1 else { throw DWTErrors.invalidParameter("maxPages must be -1 (until deleted) or at least 1") }
        let interval = options.interval ?? 1000
        guard (0...3_600_000).contains(interval) else { throw DWTErrors.invalidParameter("interval must be 0…3600000 milliseconds") }
        let warmUp = options.warmUpFrames ?? 3
        guard (0...100).contains(warmUp) else { throw DWTErrors.invalidParameter("warmUpFrames must be 0…100") }
        let camera = try await camera(options.device ?? "")
        let wanted = try camera.captureFormat(pixelFormat: options.mediaType, width: options.width, height: options.height)
        let session = try await CameraSession.open(camera, format: wanted)
        var adjustments: [String] = []
        if session.format != wanted {
            adjustments.append("asked for \(wanted.width)x\(wanted.height) \(wanted.pixelFormat.rawValue), the camera delivers "
                               + "\(session.format.width)x\(session.format.height) \(session.format.pixelFormat.rawValue)")
        }
        let source = CameraPageSource(session: session, interval: .milliseconds(interval), warmUpFrames: warmUp)
        do {
            let job = try await service.jobs.create(source: source, maxPages: maxPages == -1 ? nil : maxPages,
                                                    adjustments: adjustments, origin: request.origin)
            return (job, camera, session.format)
        } catch {
            await source.close()
            throw error
        }
    }
}
