import CLibV4L2
import Foundation
import ScanBridgeCore

// The V4L2 side: every ioctl and pointer is in this file. It runs on a device thread
// (`DedicatedThreads.device`), never on the cooperative pool. NOTE: no camera exists on the machines this was written and tested on;
// discovery is tested (an empty /dev gives an empty list, no error) and the conversion code is
// tested on generated frames, but the ioctl/capture path below has not run against a device.

/// A V4L2 capture device.
public struct CameraInfo: Sendable, Equatable, Codable {
    public struct Format: Sendable, Equatable, Codable {
        /// FOURCC ("MJPG", "YUYV" …).
        public var fourcc: String
        public var description: String
        /// Discrete frame sizes, largest first (stepwise devices report their maximum).
        public var sizes: [FrameSize]
        /// Whether ScanBridge can turn this format into pages.
        public var supported: Bool
    }

    public struct FrameSize: Sendable, Equatable, Codable {
        public var width: Int
        public var height: Int
    }

    /// Stable identity: `v4l2:` + the /dev/v4l/by-id name when udev made one, else card name
    /// and bus position.
    public var id: String
    public var path: String
    public var name: String
    public var driver: String
    public var busInfo: String
    public var formats: [Format]
}

public enum CameraDiscovery {
    /// The capture devices among `/dev/video*`. No device (or none that captures) gives an empty
    /// list, not an error. Runs on its own thread.
    public static func cameras(deviceDirectory: String = "/dev") async -> [CameraInfo] {
        let thread = DedicatedThreads.device(name: "v4l2-discovery")
        defer { thread.stop() }
        return (try? await thread.run { listCameras(deviceDirectory: deviceDirectory) }) ?? []
    }

    static func listCameras(deviceDirectory: String) -> [CameraInfo] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: deviceDirectory)) ?? []
        let byID = byIDLinks()
        return names.filter { $0.hasPrefix("video") }
            .sorted { (Int($0.dropFirst(5)) ?? 0) < (Int($1.dropFirst(5)) ?? 0) }
            .compactMap { probe(path: deviceDirectory + "/" + $0, byID: byID) }
    }

    /// /dev/v4l/by-id/NAME → target path, reversed.
    private static func byIDLinks() -> [String: String] {
        let folder = "/dev/v4l/by-id"
        var result: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + name) {
                let resolved = URL(fileURLWithPath: target, relativeTo: URL(fileURLWithPath: folder + "/")).standardizedFileURL.path
                result[resolved] = name
            }
        }
        return result
    }

    private static func probe(path: String, byID: [String: String]) -> CameraInfo? {
        let fd = sb_v4l2_open(path, O_RDWR | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { v4l2_close(fd) }
        var capability = v4l2_capability()
        guard ioctlRetrying(fd, SB_VIDIOC_QUERYCAP, &capability) == 0 else { return nil }
        let caps = capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? capability.device_caps : capability.capabilities
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else { return nil }
        let card = cString(capability.card), driver = cString(capability.driver), bus = cString(capability.bus_info)
        var formats: [CameraInfo.Format] = []
        var index: UInt32 = 0
        while true {
            var description = v4l2_fmtdesc()
            description.index = index
            description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard ioctlRetrying(fd, SB_VIDIOC_ENUM_FMT, &description) == 0 else { break }
            formats.append(.init(fourcc: fourccText(description.pixelformat), description: cString(description.description),
                                 sizes: frameSizes(fd, description.pixelformat),
                                 supported: CameraPixelFormat(code: description.pixelformat) != nil))
            index += 1
        }
        let id = byID[path].map { "v4l2:" + DeviceIdentity.escape($0) }
            ?? "v4l2:" + DeviceIdentity.escape("\(card)@\(bus)")
        return CameraInfo(id: id, path: path, name: card, driver: driver, busInfo: bus, formats: formats)
    }

    private static func frameSizes(_ fd: Int32, _ pixelFormat: UInt32) -> [CameraInfo.FrameSize] {
        var sizes: [CameraInfo.FrameSize] = []
        var index: UInt32 = 0
        while true {
            var size = v4l2_frmsizeenum()
            size.index = index
            size.pixel_format = pixelFormat
            guard ioctlRetrying(fd, SB_VIDIOC_ENUM_FRAMESIZES, &size) == 0 else { break }
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append(.init(width: Int(size.discrete.width), height: Int(size.discrete.height)))
            } else {
                sizes.append(.init(width: Int(size.stepwise.max_width), height: Int(size.stepwise.max_height)))
                break
            }
            index += 1
        }
        return sizes.sorted { $0.width * $0.height > $1.width * $1.height }
    }

    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// `v4l2_ioctl`, retrying EINTR; returns 0 or -errno.
func ioctlRetrying<T>(_ fd: Int32, _ request: UInt, _ argument: inout T) -> Int32 {
    while true {
        let result = withUnsafeMutablePointer(to: &argument) { sb_v4l2_ioctl(fd, request, $0) }
        if result >= 0 { return 0 }
        if errno != EINTR { return -errno }
    }
}

public enum CameraCapture {
    /// Captures one still frame from `camera` as a page (page number 1, origin `.camera`):
    /// MJPEG passed through, YUYV/RGB/GREY converted. Picks the preferred supported format at its
    /// largest size unless `width`/`height` are given. Skips `warmUpFrames` frames first (auto
    /// exposure). Runs on a thread of its own. Untested here: no camera on this machine.
    public static func still(_ camera: CameraInfo, width: Int? = nil, height: Int? = nil,
                             warmUpFrames: Int = 3) async throws -> ScannedPage {
        let thread = DedicatedThreads.device(name: "v4l2-capture \(camera.path)")
        defer { thread.stop() }
        return try await thread.run { try captureStill(camera, width: width, height: height, warmUpFrames: warmUpFrames) }
    }

    static func captureStill(_ camera: CameraInfo, width: Int?, height: Int?, warmUpFrames: Int) throws -> ScannedPage {
        let failure = { (what: String, code: Int32) in
            ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "Camera \(camera.id): \(what) failed",
                            cause: .errno(code))
        }
        guard let chosen = camera.formats.filter(\.supported)
            .min(by: { (CameraPixelFormat(rawValue: $0.fourcc)?.preference ?? 9) < (CameraPixelFormat(rawValue: $1.fourcc)?.preference ?? 9) }),
              let pixelFormat = CameraPixelFormat(rawValue: chosen.fourcc) else {
            throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported,
                                  message: "Camera \(camera.id) offers no pixel format ScanBridge can read")
        }
        let size = chosen.sizes.first ?? .init(width: 640, height: 480)
        let fd = sb_v4l2_open(camera.path, O_RDWR)
        guard fd >= 0 else {
            let code = errno
            if code == EBUSY { throw ScanBridgeError.busy(camera.id, cause: .errno(code)) }
            throw failure("opening \(camera.path)", code)
        }
        defer { v4l2_close(fd) }
        var format = v4l2_format()
        format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        format.fmt.pix.width = UInt32(width ?? size.width)
        format.fmt.pix.height = UInt32(height ?? size.height)
        format.fmt.pix.pixelformat = pixelFormat.code
        format.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        let status = ioctlRetrying(fd, SB_VIDIOC_S_FMT, &format)
        guard status == 0 else { throw failure("setting the format", -status) }
        let actualFormat = CameraPixelFormat(code: format.fmt.pix.pixelformat) ?? pixelFormat
        let frameWidth = Int(format.fmt.pix.width), frameHeight = Int(format.fmt.pix.height)
        let bytesPerLine = Int(format.fmt.pix.bytesperline)
        let imageSize = max(Int(format.fmt.pix.sizeimage), frameWidth * frameHeight * 3)
        var frame = [UInt8](repeating: 0, count: imageSize)
        var length = 0
        // libv4l2 emulates read() with mmap streaming for drivers that only stream.
        for _ in 0...max(0, warmUpFrames) {
            length = frame.withUnsafeMutableBytes { v4l2_read(fd, $0.baseAddress, $0.count) }
            if length < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                throw failure("reading a frame", code)
            }
        }
        frame.removeLast(frame.count - max(0, length))
        let content = try FrameConversion.content(frame, format: actualFormat, width: frameWidth, height: frameHeight,
                                                  bytesPerLine: bytesPerLine)
        return ScannedPage(content: content, pageNumber: 1, origin: .camera, xDPI: 72, yDPI: 72)
    }
}
