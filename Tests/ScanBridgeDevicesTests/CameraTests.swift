import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeImaging
import Testing

/// Cameras: discovery on this machine (no /dev/video*), format choice, and frame conversion on
/// generated frames, checked against netpbm's yuy2topam. Capture needs a device: the machines
/// this runs on have none, so Tests/Conformance/test_camera.py runs the real binary against a
/// stand-in for absent hardware (an LD_PRELOAD library, Tests/Support/v4l2-standin).
@Suite("Cameras (V4L2)")
struct CameraTests {
    @Test func noVideoDevicesGiveAnEmptyList() async throws {
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(await CameraDiscovery.cameras(deviceDirectory: folder).isEmpty)
        // A /dev/video* that is not a device is skipped, not an error.
        _ = FileManager.default.createFile(atPath: folder + "/video0", contents: Data([1, 2, 3]))
        #expect(await CameraDiscovery.cameras(deviceDirectory: folder).isEmpty)
        #expect(await CameraDiscovery.cameras(deviceDirectory: "/nonexistent").isEmpty)
        if !FileManager.default.fileExists(atPath: "/dev/video0") {
            #expect(await CameraDiscovery.cameras().isEmpty)
        }
    }

    @Test func captureFormatPrefersJPEGAndChecksRequests() throws {
        let camera = CameraInfo(id: "v4l2:test", path: "/dev/video9", name: "test", driver: "test", busInfo: "test", formats: [
            .init(fourcc: "YUYV", description: "YUYV", sizes: [.init(width: 320, height: 240), .init(width: 160, height: 120)], supported: true),
            .init(fourcc: "MJPG", description: "MJPEG", sizes: [.init(width: 640, height: 480)], supported: true),
            .init(fourcc: "H264", description: "H.264", sizes: [.init(width: 640, height: 480)], supported: false),
        ])
        #expect(try camera.captureFormat() == CameraCaptureFormat(pixelFormat: .mjpeg, width: 640, height: 480))
        #expect(try camera.captureFormat(pixelFormat: "yuyv") == CameraCaptureFormat(pixelFormat: .yuyv, width: 320, height: 240))
        #expect(try camera.captureFormat(pixelFormat: "YUYV", width: 160, height: 120) == CameraCaptureFormat(pixelFormat: .yuyv, width: 160, height: 120))
        for (format, width, height, code, offered) in [("H264", nil, nil, -1006, "MJPG"), ("NV12", nil, nil, -1006, "YUYV"),
                                                       ("YUYV", 640, 480, -1010, "320x240, 160x120"), ("YUYV", 320, nil, -1010, "both")] as [(String, Int?, Int?, Int, String)] {
            let error = #expect(throws: ScanBridgeError.self) { try camera.captureFormat(pixelFormat: format, width: width, height: height) }
            #expect(error?.code == code)
            #expect(error?.message.contains(offered) == true, "\(error?.message ?? "")")
        }
    }

    @Test func openingWhatIsNotACameraFailsClearlyAndFreesThePath() async throws {
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let format = CameraCaptureFormat(pixelFormat: .yuyv, width: 320, height: 240)
        func camera(_ path: String) -> CameraInfo {
            CameraInfo(id: "v4l2:test", path: path, name: "test", driver: "test", busInfo: "test", formats: [])
        }
        // A node that does not exist: the camera is gone (-1023), and says where it looked.
        let missing = await #expect(throws: ScanBridgeError.self) { try await CameraSession.open(camera(folder + "/video7"), format: format) }
        #expect(missing?.code == -1023 && missing?.message.contains(folder + "/video7") == true, "\(String(describing: missing))")
        // A file that is not a device refuses the format ioctl: a general failure naming the step.
        _ = FileManager.default.createFile(atPath: folder + "/video0", contents: Data([1, 2, 3]))
        for _ in 0..<2 {  // twice: the failed open released the path (no false "busy")
            let refused = await #expect(throws: ScanBridgeError.self) { try await CameraSession.open(camera(folder + "/video0"), format: format) }
            #expect(refused?.code == -1001 && refused?.message.contains("setting the format") == true, "\(String(describing: refused))")
        }
    }

    /// A YUYV frame with every Y, U and V the generator reaches, and gradients across it.
    static func yuyvFrame(width: Int, height: Int, padding: Int = 0) -> [UInt8] {
        var frame: [UInt8] = []
        for y in 0..<height {
            for pair in 0..<(width / 2) {
                frame += [UInt8((pair * 7 + y * 3) % 256), UInt8((pair * 13 + y * 5) % 256),
                          UInt8((pair * 11 + y * 17 + 40) % 256), UInt8((y * 9 + pair * 2) % 256)]
            }
            frame += [UInt8](repeating: 0xEE, count: padding)
        }
        return frame
    }

    @Test func yuyvMatchesNetpbm() throws {
        let width = 64, height = 48
        let frame = Self.yuyvFrame(width: width, height: height)
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(frame).write(to: URL(fileURLWithPath: folder + "/frame.yuy2"))
        let pam = try runProgram("/bin/sh", ["-c", "yuy2topam -width \(width) -height \(height) \(folder)/frame.yuy2 | pamtopnm > \(folder)/frame.ppm"])
        #expect(pam.status == 0, "\(pam.stderr)")
        let reference = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/frame.ppm")))
        let pixels = Array(reference.suffix(width * height * 3))
        let content = try FrameConversion.content(frame, format: .yuyv, width: width, height: height, bytesPerLine: width * 2)
        guard case .raster(let image) = content else { Issue.record("not raster"); return }
        #expect(image.format == .rgb24 && image.width == width && image.height == height)
        let differences = zip(image.pixels, pixels).map { abs(Int($0) - Int($1)) }
        #expect(differences.max() ?? 99 <= 1, "largest difference \(differences.max() ?? -1)")
    }

    @Test func knownColoursAndRowPadding() throws {
        // White, black, red and blue pixel pairs (BT.601 limited range), rows padded to 16 bytes.
        let row: [UInt8] = [235, 128, 235, 128, 16, 128, 16, 128, 81, 90, 81, 240, 41, 240, 41, 110]
        let frame = row + [0, 0, 0, 0] + row + [0, 0, 0, 0]
        let content = try FrameConversion.content(frame, format: .yuyv, width: 8, height: 2, bytesPerLine: 20)
        guard case .raster(let image) = content else { Issue.record("not raster"); return }
        let pixel = { (x: Int, y: Int) in Array(image.pixels[(y * 8 + x) * 3..<(y * 8 + x) * 3 + 3]) }
        #expect(pixel(0, 1) == [255, 255, 255] && pixel(3, 1) == [0, 0, 0])
        #expect(pixel(4, 0) == [255, 0, 0] && pixel(7, 0) == [0, 0, 255])
    }

    @Test func rgbBgrGreyAndJPEG() throws {
        let rgb: [UInt8] = [1, 2, 3, 4, 5, 6]
        guard case .raster(let a) = try FrameConversion.content(rgb, format: .rgb24, width: 2, height: 1, bytesPerLine: 6),
              case .raster(let b) = try FrameConversion.content(rgb, format: .bgr24, width: 2, height: 1, bytesPerLine: 6),
              case .raster(let g) = try FrameConversion.content([9, 8, 0, 7, 6, 0], format: .grey, width: 2, height: 2, bytesPerLine: 3)
        else { Issue.record("not raster"); return }
        #expect(a.pixels == rgb && b.pixels == [3, 2, 1, 6, 5, 4])
        #expect(g.format == .gray8 && g.pixels == [9, 8, 7, 6])
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 0xFF, 0xD9]
        guard case .jpeg(let data, let width, let height) = try FrameConversion.content(jpeg, format: .mjpeg, width: 640, height: 480, bytesPerLine: 0)
        else { Issue.record("not passed through"); return }
        #expect(data == jpeg && width == 640 && height == 480)
        #expect(throws: (any Error).self) { try FrameConversion.content([1, 2, 3], format: .mjpeg, width: 1, height: 1, bytesPerLine: 0) }
        #expect(throws: (any Error).self) { try FrameConversion.content([1, 2], format: .yuyv, width: 4, height: 4, bytesPerLine: 8) }
        #expect(CameraPixelFormat.yuyv.code == 0x5659_5559)
    }
}
