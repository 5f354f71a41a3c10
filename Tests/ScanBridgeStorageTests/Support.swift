import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage

/// Temporary folders, the helper process and deterministic page content for the storage tests.
enum Support {
    /// The folder holding the built products (the test bundle and `storage-crash-writer`).
    static let productsDirectory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent()
    }()

    static var writerBinary: String { productsDirectory.appendingPathComponent("storage-crash-writer").path }

    /// A new empty folder (mode 0755) under the system temporary folder.
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "scanbridge-storage-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Same bytes as `TestContent` in storage-crash-writer: 8 bytes of `seq`, then xorshift.
    static func bytes(seq: UInt64, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(count, 8))
        withUnsafeBytes(of: seq.littleEndian) { for i in 0..<8 { out[i] = $0[i] } }
        var state = seq &* 0x9E37_79B9_7F4A_7C15 | 1
        for i in 8..<out.count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            out[i] = UInt8(truncatingIfNeeded: state)
        }
        return out
    }

    static func rawPage(seq: UInt64, width: Int = 300, height: Int = 200, format: PixelFormat = .rgb24, dpi: Double = 300) -> Page {
        let stride = format.minimumStride(width: width)
        return Page(image: Image(width: width, height: height, format: format, stride: stride, xDPI: dpi, yDPI: dpi,
                                 pixels: bytes(seq: seq, count: stride * height)))
    }

    /// Every byte of every regular file below `folder`.
    static func allFileBytes(below folder: String) -> [(path: String, bytes: [UInt8])] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var result: [(String, [UInt8])] = []
        for case let relative as String in walker {
            let path = folder + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            result.append((path, Array(data)))
        }
        return result
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        let limit = haystack.count - needle.count
        while index <= limit {
            if haystack[index] == first, Array(haystack[index..<(index + needle.count)]) == needle { return true }
            index += 1
        }
        return false
    }

    /// Runs a command to completion and returns its status and output.
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        // Drain while waiting so that a chatty child never blocks on a full pipe.
        let out = Collected(), err = Collected()
        let group = DispatchGroup()
        for (pipe, sink) in [(output, out), (errors, err)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
        }
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, String(decoding: out.get(), as: UTF8.self), String(decoding: err.get(), as: UTF8.self))
    }

    /// Bytes read on another thread, handed over under a lock.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
        func append(_ value: Data) { lock.lock(); data.append(value); lock.unlock() }
        func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
    }

    static var isRoot: Bool { getuid() == 0 }
}
