import CLibV4L2
import Foundation
import ScanBridgeCore

// Camera discovery: which /dev/video* nodes capture, in which formats and sizes. It runs on a
// device thread (`DedicatedThreads.device`), never on the cooperative pool. The machines this is
// tested on have no camera: the suite runs it against a stand-in device (an LD_PRELOAD library
// that answers for one device node, Tests/Support/v4l2-standin).

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

        public init(fourcc: String, description: String, sizes: [FrameSize], supported: Bool) {
            self.fourcc = fourcc
            self.description = description
            self.sizes = sizes
            self.supported = supported
        }
    }

    public struct FrameSize: Sendable, Equatable, Codable {
        public var width: Int
        public var height: Int

        public init(width: Int, height: Int) {
            self.width = width
            self.height = height
        }
    }

    /// Stable identity: `v4l2:` + the /dev/v4l/by-id name when udev made one, else card name
    /// and bus position.
    public var id: String
    public var path: String
    public var name: String
    public var driver: String
    public var busInfo: String
    public var formats: [Format]

    public init(id: String, path: String, name: String, driver: String, busInfo: String, formats: [Format]) {
        self.id = id
        self.path = path
        self.name = name
        self.driver = driver
        self.busInfo = busInfo
        self.formats = formats
    }
}

public enum CameraDiscovery {
    /// Where device nodes live unless the configuration says otherwise.
    public static let defaultDirectory = "/dev"

    /// The capture devices among `/dev/video*`. No device (or none that captures) gives an empty
    /// list, not an error. Runs on its own thread.
    public static func cameras(deviceDirectory: String = defaultDirectory) async -> [CameraInfo] {
        let thread = DedicatedThreads.device(name: "v4l2-discovery")
        defer { thread.stop() }
        return (try? await thread.run { listCameras(deviceDirectory: deviceDirectory) }) ?? []
    }

    /// The capture device at `path` (any name, e.g. a /dev/v4l/by-id link), or nil when it is
    /// none. Runs on its own thread.
    public static func camera(path: String) async -> CameraInfo? {
        let thread = DedicatedThreads.device(name: "v4l2-discovery")
        defer { thread.stop() }
        // A link (by-id, by-path) names its node, so the camera gets the identity discovery gives it.
        let node = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? await thread.run { probe(path: node, byID: byIDLinks()) }) ?? nil
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
        guard let fd = try? Syscall.checked("open", path: path, { sb_v4l2_open(path, O_RDWR | O_NONBLOCK) }) else { return nil }
        defer { Syscall.close(fd) }
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
