// Upload throughput: ScanBridgeUpload against the curl command line (same libcurl, same sink
// server, same run). The sink is a minimal HTTP/1.1 server on 127.0.0.1 that reads each
// request body to the end, discards it and answers 200, one thread per connection.
import BenchmarkSupport
import Foundation
import Logging
import ScanBridgeUpload

#if canImport(Glibc)
import Glibc
#endif

final class SinkServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 64)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread {
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { continue }
                Thread { SinkServer.serve(connection) }.start()
            }
        }.start()
    }

    private static func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var header = [UInt8]()
        var bodyStart = 0
        while true {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { return }
            header += buffer[0..<n]
            if let end = find(header, [13, 10, 13, 10]) {
                bodyStart = end + 4
                break
            }
        }
        let text = String(decoding: header[0..<bodyStart], as: UTF8.self).lowercased()
        var remaining = 0
        if let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
            remaining = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        if text.contains("expect: 100-continue") {
            let go = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
            _ = write(connection, go, go.count)
        }
        remaining -= header.count - bodyStart
        while remaining > 0 {
            let n = read(connection, &buffer, min(buffer.count, remaining))
            if n <= 0 { return }
            remaining -= n
        }
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
        _ = write(connection, answer, answer.count)
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }
}

func runCurl(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-S", "-f"] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
}

let sink = SinkServer()
let folder = NSTemporaryDirectory() + "scanbridge-upload-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
var logger = Logger(label: "bench")
logger.logLevel = .error
let uploader = Uploader(stagingFolder: folder + "/upload", maxConcurrentUploads: 4, logger: logger)
let url = "http://127.0.0.1:\(sink.port)/sink"
let options = UploadOptions(maxAttempts: 1)

let rounds = Int(ProcessInfo.processInfo.environment["UPLOAD_BENCH_ROUNDS"] ?? "") ?? 5
var record = BenchmarkRecord(benchmark: "upload-benchmark", rounds: rounds)
var table = BenchmarkRecord.Table(id: "uploads", title: "Uploads over loopback HTTP PUT against the curl command line (same libcurl, same sink)",
                                  contenders: ["ScanBridgeUpload", "curl CLI"], ours: "ScanBridgeUpload")

// 1. One large document.
let large = Data((0..<(64 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })
let largeFile = folder + "/large.bin"
try large.write(to: URL(fileURLWithPath: largeFile))
let mib = Double(large.count) / Double(1 << 20)
let largeSamples = try await Interleaved.run(rounds: rounds, [
    (name: "ScanBridgeUpload", body: {
        try await Interleaved.seconds {
            _ = try await uploader.upload(UploadDocument(data: large, fileName: "large.bin"), to: .httpPut(HTTPPutTarget(url: url)), options: options)
        }
    }),
    (name: "curl CLI", body: { try Interleaved.seconds { try runCurl(["-o", "/dev/null", "-T", largeFile, url]) } }),
])
table.add(id: "large", label: "64 MiB, one upload (ours includes staging it to disk)", unit: "MiB/s", largeSamples.mapValues { $0.rate(mib) })
// What staging alone costs in case 1: writing the document to the staging folder and removing it.
let stagingOnly = try Measurement.run(runs: rounds) {
    try large.write(to: URL(fileURLWithPath: folder + "/staged.bin"), options: .atomic)
    try FileManager.default.removeItem(atPath: folder + "/staged.bin")
}
record.notes.append("64 MiB: staging write + remove alone takes \(format(stagingOnly.median * 1000, digits: 0)) ms (median), part of ours")

// 2. Many small documents, four at a time.
let count = 100
let small = Data((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 40503) })
var curlArguments = ["-Z", "--parallel-max", "4"]
for index in 0..<count {
    let path = folder + "/small-\(index).bin"
    try small.write(to: URL(fileURLWithPath: path))
    curlArguments += ["-o", "/dev/null", "-T", path, url + "/\(index)"]
}
let smallSamples = try await Interleaved.run(rounds: rounds, [
    (name: "ScanBridgeUpload", body: {
        try await Interleaved.seconds {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        _ = try await uploader.upload(UploadDocument(data: small, fileName: "s\(index).bin"),
                                                      to: .httpPut(HTTPPutTarget(url: url + "/\(index)")), options: options)
                    }
                }
                try await group.waitForAll()
            }
        }
    }),
    (name: "curl CLI", body: { try Interleaved.seconds { try runCurl(curlArguments) } }),
])
table.add(id: "small", label: "\(count) × 256 KiB, 4 concurrent (curl: one `-Z --parallel-max 4` run)", unit: "uploads/s",
          smallSamples.mapValues { $0.rate(Double(count)) })
await uploader.shutdown()
record.tables.append(table)
try record.finish()
