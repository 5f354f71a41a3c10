import Foundation
@_spi(Testing) import ScanBridgeDevices
import ScanBridgeCore
import ScanBridgeImaging

/// The SANE `test` backend for this test process. `make test` points SANE_CONFIG_DIR at
/// .dev/sane.d; when it is unset (plain `swift test`) a private folder is made and used. SANE is
/// initialised once per process, so this must run before the first SANE call.
enum TestSANE {
    static let configDirectory: String = {
        if let existing = ProcessInfo.processInfo.environment["SANE_CONFIG_DIR"], !existing.isEmpty { return existing }
        let folder = makeConfigDirectory()
        setenv("SANE_CONFIG_DIR", folder, 1)
        return folder
    }()

    /// A fresh SANE configuration folder with only the test backend (for subprocesses).
    static func makeConfigDirectory(extraConfig: String = "") -> String {
        let folder = NSTemporaryDirectory() + "scanbridge-sane-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/dll.conf", contents: Data("test\n".utf8))
        let base = (try? String(contentsOfFile: "/etc/sane.d/test.conf", encoding: .utf8)) ?? "number_of_devices 2\n"
        _ = FileManager.default.createFile(atPath: folder + "/test.conf", contents: Data((base + "\n" + extraConfig).utf8))
        return folder
    }

    /// Options that bring the test device back to known settings (they persist across opens).
    ///
    /// `read-delay` stays on (1 ms after each block): the backend's reader thread then ends each
    /// page asleep in `usleep`, where SANE's asynchronous `pthread_cancel` of it is harmless.
    /// Without the delay the cancel can land while the reader is inside `free()`, leaving a
    /// malloc lock held and hanging this whole test process (see SANEContext).
    static let baseline: [(String, String)] = [
        ("mode", "Color"), ("three-pass", "no"), ("mode", "Gray"), ("depth", "8"), ("hand-scanner", "no"),
        ("source", "Flatbed"), ("test-picture", "Solid black"), ("read-limit", "no"), ("read-delay", "yes"),
        ("read-delay-duration", "1000"),
        ("read-return-value", "Default"), ("resolution", "50"),
        ("tl-x", "0"), ("tl-y", "0"), ("br-x", "80"), ("br-y", "100"),
    ]

    /// Opens `device` (default test:0) and resets it, then applies `options` in order.
    static func open(_ device: String = "test:0", options: [(String, String)] = [], timeout: Double = 15,
                     maxBufferedPages: Int = 16) async throws -> ScannerSession {
        _ = configDirectory
        let session = try await ScannerSession.open(device, scannerFailureTimeout: timeout, maxBufferedPages: maxBufferedPages)
        for (name, value) in baseline + options { try await session.setOption(name, text: value) }
        return session
    }

    struct Outcome {
        var pages: [ScannedPage]
        var error: Error?
        var scanError: ScanBridgeError? { error as? ScanBridgeError }
    }

    static func collect(_ stream: AsyncThrowingStream<ScannedPage, Error>) async -> Outcome {
        var pages: [ScannedPage] = []
        do {
            for try await page in stream { pages.append(page) }
            return Outcome(pages: pages, error: nil)
        } catch {
            return Outcome(pages: pages, error: error)
        }
    }

    /// Runs `scanimage` with the same SANE configuration and returns its stdout (one PNM page).
    static func scanimage(_ arguments: [String], configDirectory: String? = nil) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/scanimage")
        process.arguments = ["-d", "test:0", "--format=pnm"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SANE_CONFIG_DIR"] = configDirectory ?? TestSANE.configDirectory
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](data)
    }
}

enum Paths {
    static let productsDirectory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent()
    }()

    static var scanbridge: String { productsDirectory.appendingPathComponent("scanbridge").path }

    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "scanbridge-devtest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Runs a program to completion (at most `timeout` s) and returns status, stdout, stderr.
func runProgram(_ path: String, _ arguments: [String], environment extra: [String: String] = [:],
                timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Drain both pipes concurrently so that a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var errorData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errorData = errors.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let deadline = DispatchTime.now() + timeout
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    if group.wait(timeout: deadline) == .timedOut { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// Compares two PNM files; in P4 (PBM) files the padding bits at the end of each row are
/// ignored (SANE leaves them undefined: the test backend fills them at random).
func samePNM(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard a.starts(with: Array("P4".utf8)) else { return a == b }
    // Header: P4, comment line, "W H" line.
    var newlines = 0, index = 0
    while index < a.count && newlines < 3 {
        if a[index] == 0x0A { newlines += 1 }
        index += 1
    }
    guard a[..<index] == b[..<index] else { return false }
    let sizes = String(decoding: a[..<index], as: UTF8.self).split(separator: "\n")[2].split(separator: " ")
    guard let width = Int(sizes[0]) else { return false }
    let stride = (width + 7) / 8
    let mask = width % 8 == 0 ? UInt8(0xFF) : UInt8(truncatingIfNeeded: 0xFF << (8 - width % 8))
    for position in index..<a.count {
        let last = (position - index) % stride == stride - 1
        if (last ? a[position] & mask : a[position]) != (last ? b[position] & mask : b[position]) { return false }
    }
    return true
}
