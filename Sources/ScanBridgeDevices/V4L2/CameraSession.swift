import Foundation
import ScanBridgeCore
import Synchronization

/// A pixel format and frame size to capture in.
public struct CameraCaptureFormat: Sendable, Equatable, Codable {
    public var pixelFormat: CameraPixelFormat
    public var width: Int
    public var height: Int

    public init(pixelFormat: CameraPixelFormat, width: Int, height: Int) {
        self.pixelFormat = pixelFormat
        self.width = width
        self.height = height
    }
}

extension CameraInfo {
    /// The format to capture in: `pixelFormat` (a FOURCC such as "MJPG") and `width`×`height`
    /// when given, each checked against what the camera offers; otherwise the preferred format
    /// ScanBridge reads (JPEG passthrough first) at its largest size. An unknown or unreadable
    /// format is -1006 and a size the format does not offer -1010, each naming what is offered.
    public func captureFormat(pixelFormat requested: String? = nil, width: Int? = nil, height: Int? = nil) throws(ScanBridgeError) -> CameraCaptureFormat {
        let readable = formats.filter(\.supported)
        let offered = readable.map(\.fourcc).joined(separator: ", ")
        let chosen: Format
        if let requested, !requested.isEmpty {
            guard let match = formats.first(where: { $0.fourcc.caseInsensitiveCompare(requested) == .orderedSame }) else {
                throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported,
                                      message: "Camera \(id) has no pixel format \(requested); it offers \(offered.isEmpty ? "none ScanBridge reads" : offered)")
            }
            guard match.supported else {
                throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported,
                                      message: "ScanBridge cannot read pixel format \(match.fourcc) of camera \(id); use one of \(offered)")
            }
            chosen = match
        } else {
            guard let preferred = readable.min(by: { Self.preference($0) < Self.preference($1) }) else {
                throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported,
                                      message: "Camera \(id) offers no pixel format ScanBridge can read")
            }
            chosen = preferred
        }
        guard let pixelFormat = CameraPixelFormat(rawValue: chosen.fourcc) else {
            throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported, message: "Unknown pixel format \(chosen.fourcc)")
        }
        if width == nil && height == nil {
            let size = chosen.sizes.first ?? FrameSize(width: 640, height: 480)
            return CameraCaptureFormat(pixelFormat: pixelFormat, width: size.width, height: size.height)
        }
        guard let width, let height, width > 0, height > 0 else {
            throw ScanBridgeError(code: DeviceErrorCode.valueOutOfRange, message: "Give both a positive width and a positive height, or neither")
        }
        guard chosen.sizes.isEmpty || chosen.sizes.contains(FrameSize(width: width, height: height)) else {
            let sizes = chosen.sizes.map { "\($0.width)x\($0.height)" }.joined(separator: ", ")
            throw ScanBridgeError(code: DeviceErrorCode.valueOutOfRange,
                                  message: "Camera \(id) does not offer \(width)x\(height) in \(chosen.fourcc); it offers \(sizes)")
        }
        return CameraCaptureFormat(pixelFormat: pixelFormat, width: width, height: height)
    }

    private static func preference(_ format: Format) -> Int {
        CameraPixelFormat(rawValue: format.fourcc)?.preference ?? Int.max
    }
}

/// An open camera, streaming in one format, on a thread of its own (every V4L2 call runs there,
/// never on the cooperative pool). One session per device node in this process: a second open
/// is refused as busy (-1004), as the kernel refuses a second streaming client.
public final class CameraSession: Sendable {
    public let camera: CameraInfo
    /// The format the driver agreed to (its size may differ from the one asked for).
    public let format: CameraCaptureFormat
    private let thread: DedicatedThreads
    private let stream: V4L2Stream
    private let frameTimeoutMilliseconds: Int32
    private let closed = Atomic<Bool>(false)

    private static let openPaths = Mutex<Set<String>>([])

    private init(camera: CameraInfo, format: CameraCaptureFormat, thread: DedicatedThreads, stream: V4L2Stream, frameTimeoutMilliseconds: Int32) {
        self.camera = camera
        self.format = format
        self.thread = thread
        self.stream = stream
        self.frameTimeoutMilliseconds = frameTimeoutMilliseconds
    }

    /// Opens `camera` and starts streaming in `format` (see `CameraInfo.captureFormat`).
    public static func open(_ camera: CameraInfo, format: CameraCaptureFormat,
                            frameTimeout: Duration = .seconds(5)) async throws -> CameraSession {
        let claimed = openPaths.withLock { $0.insert(camera.path).inserted }
        guard claimed else {
            throw ScanBridgeError(code: DeviceErrorCode.busy, message: "The camera \(camera.id) is busy: another job is using it")
        }
        let thread = DedicatedThreads.device(name: "v4l2 \(camera.path)")
        let stream = V4L2Stream(cameraID: camera.id, path: camera.path)
        do {
            let agreed = try await thread.run {
                do {
                    try stream.open(format)
                    return stream.format
                } catch {
                    stream.close()
                    throw error
                }
            }
            let milliseconds = Int32(clamping: frameTimeout.components.seconds * 1000 + frameTimeout.components.attoseconds / 1_000_000_000_000_000)
            return CameraSession(camera: camera, format: agreed, thread: thread, stream: stream, frameTimeoutMilliseconds: milliseconds)
        } catch {
            thread.stop()
            _ = openPaths.withLock { $0.remove(camera.path) }
            throw error
        }
    }

    /// Captures one frame as a page numbered `pageNumber`, after dropping `skipFrames` (a
    /// camera's first frames after it starts are often dark while its exposure settles).
    /// MJPEG/JPEG frames pass through untouched; YUYV, RGB and GREY become an image.
    public func capture(pageNumber: Int, skipFrames: Int = 0) async throws -> ScannedPage {
        guard !closed.load(ordering: .acquiring) else {
            throw ScanBridgeError(code: DeviceErrorCode.outOfSequence, message: "Camera \(camera.id) is closed")
        }
        let stream = self.stream, format = self.format, timeout = frameTimeoutMilliseconds
        return try await thread.run {
            var frame = try stream.nextFrame(timeoutMilliseconds: timeout)
            for _ in 0..<max(0, skipFrames) { frame = try stream.nextFrame(timeoutMilliseconds: timeout) }
            let content = try FrameConversion.content(frame, format: format.pixelFormat, width: format.width, height: format.height,
                                                      bytesPerLine: stream.bytesPerLine)
            return ScannedPage(content: content, pageNumber: pageNumber, origin: .camera, xDPI: 72, yDPI: 72)
        }
    }

    /// Stops streaming and closes the device. Idempotent.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let stream = self.stream
        _ = try? await thread.run { stream.close() }
        thread.stop()
        _ = Self.openPaths.withLock { $0.remove(camera.path) }
    }

    /// A session dropped without `close()` still closes its device, on its own thread.
    deinit {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let stream = self.stream, path = camera.path
        thread.submit {
            stream.close()
            _ = Self.openPaths.withLock { $0.remove(path) }
        }
        thread.stop()
    }

    /// Opens `camera`, captures one still (after `warmUpFrames`) and closes it again.
    public static func still(_ camera: CameraInfo, format: CameraCaptureFormat, warmUpFrames: Int = 3) async throws -> ScannedPage {
        let session = try await open(camera, format: format)
        do {
            let page = try await session.capture(pageNumber: 1, skipFrames: warmUpFrames)
            await session.close()
            return page
        } catch {
            await session.close()
            throw error
        }
    }
}
