import ArgumentParser
import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeImaging
import ScanBridgeService

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture one still from a camera (V4L2) into a file.",
        discussion: """
            The file type follows the output's extension: .jpg/.jpeg (an MJPEG frame is written as the \
            camera sent it), .png, or .pnm/.ppm. Without --format, --width and --height the camera's \
            preferred format (JPEG first) at its largest size is used; `scanbridge devices` lists what \
            each camera offers. A device given by identity is looked up among the video* nodes of \
            $SCANBRIDGE_CAMERADEVICEFOLDER (default /dev). Exit status: 0 written, 1 not (unknown or \
            busy camera, unsupported format or size, camera gone, file not writable).
            """)

    @Option(help: "Camera: its device path (/dev/video0) or its identity from `scanbridge devices`.") var device: String
    @Option(help: "File to write (.jpg, .jpeg, .png, .pnm or .ppm).") var output: String
    @Option(help: "Pixel format (FOURCC), e.g. MJPG or YUYV.") var format: String?
    @Option(help: "Frame width in pixels (with --height).") var width: Int?
    @Option(help: "Frame height in pixels (with --width).") var height: Int?
    @Option(help: "Frames dropped first while the camera's exposure settles.") var warmUpFrames: Int = 3

    enum FileType { case jpeg, png, pnm }

    func run() throws {
        try runBlocking { () async throws -> Void in try await self.runAsync() }
    }

    func runAsync() async throws {
        let type: FileType
        switch (output as NSString).pathExtension.lowercased() {
        case "jpg", "jpeg": type = .jpeg
        case "png": type = .png
        case "pnm", "ppm": type = .pnm
        case let other: throw ValidationError("--output must end in .jpg, .jpeg, .png, .pnm or .ppm, not .\(other)")
        }
        guard (0...100).contains(warmUpFrames) else { throw ValidationError("--warm-up-frames must be 0…100") }
        do {
            let camera = try await Self.camera(device)
            let wanted = try camera.captureFormat(pixelFormat: format, width: width, height: height)
            let page = try await CameraSession.still(camera, format: wanted, warmUpFrames: warmUpFrames)
            let path = output
            let size = try await Self.fileThread.run { try Self.write(page.content, as: type, to: path) }
            print("\(path) \(size.width)x\(size.height) \(wanted.pixelFormat.rawValue) from \(camera.id)")
        } catch {
            ScanCommand.report(error)
            throw ExitCode(1)
        }
    }

    /// Where cameras are looked for: the `CameraDeviceFolder` key's environment variable, else /dev.
    static var cameraFolder: String {
        ProcessInfo.processInfo.environment["SCANBRIDGE_CAMERADEVICEFOLDER"] ?? CameraDiscovery.defaultDirectory
    }

    /// The camera `reference` names: a device path (any node, /dev/v4l/by-id links too) or an
    /// identity, looked up among the cameras of `cameraFolder`.
    static func camera(_ reference: String) async throws -> CameraInfo {
        if reference.contains("/"), let camera = await CameraDiscovery.camera(path: reference) { return camera }
        let folder = reference.contains("/") ? (reference as NSString).deletingLastPathComponent : cameraFolder
        let cameras = await CameraDiscovery.cameras(deviceDirectory: folder)
        guard let camera = cameras.first(where: { $0.path == reference || $0.id == reference }) else {
            let known = cameras.isEmpty ? "no camera in \(folder)" : "cameras: " + cameras.map { "\($0.id) (\($0.path))" }.joined(separator: ", ")
            throw ScanBridgeError(code: DeviceErrorCode.deviceNotFound, message: "No camera \(reference) (\(known))")
        }
        return camera
    }

    /// Writes the frame (blocking: runs on the file thread); returns its size.
    static func write(_ content: ScannedPage.Content, as type: FileType, to path: String) throws -> (width: Int, height: Int) {
        let image: Image
        switch (content, type) {
        case (.jpeg(let data, let width, let height), .jpeg):
            try Data(data).write(to: URL(fileURLWithPath: path))
            return (width, height)
        case (.jpeg(let data, _, _), _):
            image = try JPEGCodec.decode(data)
        case (.raster(let raster), _):
            image = raster
        }
        switch type {
        case .jpeg: try Data(try JPEGCodec.encode(image, quality: 90)).write(to: URL(fileURLWithPath: path))
        case .png: try Data(try PNGCodec.encode(image)).write(to: URL(fileURLWithPath: path))
        case .pnm: try PNMWriter.write(image, toFile: path)
        }
        return (image.width, image.height)
    }

    private static let fileThread = DedicatedThreads(name: "sb-capture-files")
}
