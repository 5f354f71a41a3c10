import ArgumentParser
import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeService
import ScanBridgeImaging

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan pages from a scanner into a folder (PNM files).",
        discussion: """
            Writes page-0001.pnm, page-0002.pnm … (PBM for black-and-white, PGM for gray, PPM for colour; \
            16-bit samples big-endian). Values the scanner cannot take are rounded and reported on stderr. \
            Exit status: 0 all pages scanned, 1 nothing scanned (bad options, unknown or busy device), \
            2 the scan faulted (jam, cover open, I/O error …) after writing the pages finished before it.
            """)

    @Option(help: "Device identity from `scanbridge devices` (or a SANE name such as test:0).") var device: String
    @Option(help: "Paper source: flatbed, adf or duplex.") var source: String?
    @Option(help: "Colour mode: bw, gray or color.") var mode: String?
    @Option(help: "Resolution in dpi.") var resolution: Double?
    @Option(help: "Bits per sample for gray/color: 8 or 16 (1 for bw).") var depth: Int?
    @Option(help: "Paper size: a4, a5, letter, legal or a TWAIN PageSize code (0 = whole area).") var pageSize: String?
    @Option(help: "Pages to scan (default: all the feeder holds; flatbed: 1).") var count: Int?
    @Option(name: .customLong("option"), help: ArgumentHelp("Set any SANE option; repeatable.", valueName: "NAME=VALUE"))
    var options: [String] = []
    @Option(help: "Seconds a single scanner call may take (scannerFailureTimeout).") var timeout: Double = 15
    @Option(help: "Folder for the pages (created if missing).") var output: String

    func run() throws {
        // The root command stays synchronous so that `serve` can block its signals before the
        // concurrency runtime starts any thread; async work runs through `runBlocking`.
        try runBlocking { () async throws -> Void in try await self.runAsync() }
    }

    func runAsync() async throws {
        var config = DeviceConfiguration()
        switch source?.lowercased() {
        case nil: break
        case "flatbed": config.feederEnabled = false
        case "adf", "feeder": config.feederEnabled = true
        case "duplex": config.feederEnabled = true; config.duplexEnabled = true
        case let other?: throw ValidationError("--source must be flatbed, adf or duplex, not \(other)")
        }
        switch mode?.lowercased() {
        case nil: break
        case "bw", "lineart": config.pixelType = 0
        case "gray", "grey": config.pixelType = 1
        case "color", "colour": config.pixelType = 2
        case let other?: throw ValidationError("--mode must be bw, gray or color, not \(other)")
        }
        config.resolution = resolution
        config.bitDepth = depth
        if let pageSize {
            let named = ["a4": 1, "letter": 3, "legal": 4, "a5": 5, "a3": 11, "a6": 13, "full": 0]
            guard let code = named[pageSize.lowercased()] ?? Int(pageSize) else {
                throw ValidationError("--page-size must be a4, a5, letter, legal, a3, a6, full or a TWAIN code")
            }
            config.pageSize = code
        }
        config.transferCount = count
        var assignments: [(String, String)] = []
        for option in options {
            guard let equals = option.firstIndex(of: "=") else { throw ValidationError("--option expects NAME=VALUE, got \(option)") }
            assignments.append((String(option[..<equals]), String(option[option.index(after: equals)...])))
        }

        try await Self.inBackground { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        let session: ScannerSession
        do {
            session = try await ScannerSession.open(device, scannerFailureTimeout: timeout)
        } catch {
            Self.report(error)
            throw ExitCode(1)
        }
        var written = 0
        do {
            let plan = try await session.configure(config)
            for (name, value) in assignments { try await session.setOption(name, text: value) }
            for adjustment in plan.adjustments { FileHandle.standardError.write(Data("note: \(adjustment)\n".utf8)) }
        } catch {
            await session.close()
            Self.report(error)
            throw ExitCode(1)
        }
        do {
            for try await page in try await session.scan() {
                guard let image = page.image else { continue }
                let path = URL(fileURLWithPath: output).appendingPathComponent(String(format: "page-%04d.pnm", page.pageNumber)).path
                try await Self.inBackground { try PNMWriter.write(image, toFile: path) }
                written += 1
                print("\(path) \(image.width)x\(image.height) \(image.format.rawValue) \(Int(page.xDPI)) dpi \(page.origin.rawValue)")
            }
            await session.close()
        } catch {
            await session.close()
            Self.report(error)
            FileHandle.standardError.write(Data("scanbridge: \(written) page(s) were written before the fault\n".utf8))
            throw ExitCode(written > 0 ? 2 : 1)
        }
    }

    static func report(_ error: Error) {
        let text: String
        if let error = error as? ScanBridgeError {
            text = "scanbridge: error \(error.code): \(error)"
        } else {
            text = "scanbridge: \(error)"
        }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// File I/O off the cooperative pool, in the order it was asked for.
    static func inBackground(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await fileThread.run(body)
    }

    private static let fileThread = DedicatedThreads(name: "sb-scan-files")
}
