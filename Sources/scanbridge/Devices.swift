import ArgumentParser
import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeService

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List scanners (SANE) and cameras (V4L2) with their capabilities.",
        discussion: "Scanners are read from SANE (SANE_CONFIG_DIR picks the configuration, /etc/sane.d by default). The ID column is the stable device identity to pass to `scan --device` and to DWT clients.")

    @Flag(help: "Print JSON instead of text.") var json = false
    @Option(help: "Seconds to wait for SANE discovery (network backends can hang).") var timeout: Double = 10
    @Flag(help: "List devices only; do not open scanners to read their options.") var noCapabilities = false

    struct ScannerEntry: Encodable {
        var device: ScannerInfo
        var capabilities: CapabilitySummary?
        var problem: String?
    }

    struct CapabilitySummary: Encodable {
        var modes: [String]
        var pixelTypes: [String]
        var bitDepths: [Int]
        var resolutions: ResolutionSupport?
        var sources: [ScanSource]
        var areaMillimetres: [Double]?
        var brightness: NumericRange?
        var contrast: NumericRange?

        init(_ caps: ScannerCapabilities) {
            modes = caps.modes
            pixelTypes = caps.pixelTypes.map(\.description)
            bitDepths = caps.bitDepths
            resolutions = caps.resolutions
            sources = caps.sources
            areaMillimetres = caps.areaWidth.flatMap { width in caps.areaHeight.map { [width.max - width.min, $0.max - $0.min] } }
            brightness = caps.brightness
            contrast = caps.contrast
        }
    }

    struct Listing: Encodable {
        var sane: String?
        var scanners: [ScannerEntry]
        var stale: Bool
        var cameras: [CameraInfo]
        var scannerError: String?
    }

    func run() throws {
        // The root command stays synchronous so that `serve` can block its signals before the
        // concurrency runtime starts any thread; async work runs through `runBlocking`.
        try runBlocking { () async throws -> Void in try await self.runAsync() }
    }

    func runAsync() async throws {
        var listing = Listing(sane: nil, scanners: [], stale: false, cameras: [], scannerError: nil)
        do {
            listing.sane = try await SANEContext.shared.version()
            let discovery = try await SANEContext.shared.discover(refresh: true, timeout: timeout)
            listing.stale = discovery.stale
            for scanner in discovery.scanners {
                var entry = ScannerEntry(device: scanner)
                if !noCapabilities {
                    do {
                        let session = try await ScannerSession.open(scanner.id, scannerFailureTimeout: timeout)
                        entry.capabilities = CapabilitySummary(await session.capabilities)
                        await session.close()
                    } catch {
                        entry.problem = "\(error)"
                    }
                }
                listing.scanners.append(entry)
            }
        } catch {
            listing.scannerError = "\(error)"
        }
        listing.cameras = await CameraDiscovery.cameras(deviceDirectory: CaptureCommand.cameraFolder)

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(listing), as: UTF8.self))
            return
        }
        print("Scanners" + (listing.sane.map { " (SANE \($0))" } ?? "") + (listing.stale ? " [discovery timed out; cached list]" : "") + ":")
        if let problem = listing.scannerError { print("  SANE unavailable: \(problem)") }
        if listing.scanners.isEmpty && listing.scannerError == nil { print("  none found") }
        for entry in listing.scanners {
            print("  \(entry.device.id)  \(entry.device.displayName)  [\(entry.device.type)]")
            if let problem = entry.problem { print("    not opened: \(problem)") }
            guard let caps = entry.capabilities else { continue }
            print("    modes: \(caps.modes.joined(separator: ", ")) → \(caps.pixelTypes.joined(separator: ", "))"
                  + (caps.bitDepths.isEmpty ? "" : "; bit depths: \(caps.bitDepths.map(String.init).joined(separator: ", "))"))
            switch caps.resolutions {
            case .range(let low, let high, let step)?: print("    resolutions: \(Int(low))…\(Int(high)) dpi (step \(step == 0 ? "any" : String(format: "%g", step)))")
            case .list(let values)?: print("    resolutions: \(values.map { String(format: "%g", $0) }.joined(separator: ", ")) dpi")
            case nil: print("    resolutions: fixed")
            }
            if !caps.sources.isEmpty {
                print("    sources: \(caps.sources.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", "))")
            }
            if let area = caps.areaMillimetres { print("    area: \(String(format: "%g", area[0])) × \(String(format: "%g", area[1])) mm") }
            if let range = caps.brightness { print("    brightness: \(String(format: "%g", range.min))…\(String(format: "%g", range.max))") }
            if let range = caps.contrast { print("    contrast: \(String(format: "%g", range.min))…\(String(format: "%g", range.max))") }
        }
        print("Cameras:")
        if listing.cameras.isEmpty { print("  none found (\(CaptureCommand.cameraFolder)/video*)") }
        for camera in listing.cameras {
            print("  \(camera.id)  \(camera.name)  [\(camera.path), \(camera.driver)]")
            for format in camera.formats {
                let sizes = format.sizes.prefix(4).map { "\($0.width)×\($0.height)" }.joined(separator: ", ")
                print("    \(format.fourcc) \(format.description)\(format.supported ? "" : " (not supported)"): \(sizes)")
            }
        }
    }
}
