// Upload throughput and CPU: ScanBridgeUpload against the same durable upload written directly
// against libcurl in this process (LibcurlReference.swift), on the same sink server, taking
// turns round after round. Both clocks stop once the server answered and the staged copy is
// gone; both stage every document durably first (write + fsync + rename), so that a failed
// upload can be sent again after a restart. CPU is the whole process's (user + system), sink
// server included, which is the same work for both.
import BenchmarkSupport
import Foundation
import Logging
import ScanBridgeUpload

let sink = SinkServer()
let folder = NSTemporaryDirectory() + "scanbridge-upload-bench-" + UUID().uuidString
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
var logger = Logger(label: "bench")
logger.logLevel = .error
let concurrency = 4
let uploader = Uploader(stagingFolder: folder + "/upload", maxConcurrentUploads: concurrency, logger: logger)
let reference = LibcurlReference(folder: folder + "/reference", workers: concurrency)
let url = "http://127.0.0.1:\(sink.port)/sink"
let options = UploadOptions(maxAttempts: 1)
let ours = "ScanBridgeUpload"
let libcurl = "libcurl C API, in process"

let rounds = Int(ProcessInfo.processInfo.environment["UPLOAD_BENCH_ROUNDS"] ?? "") ?? 5
var record = BenchmarkRecord(benchmark: "upload-benchmark", rounds: rounds)
var throughput = BenchmarkRecord.Table(
    id: "uploads", title: "Durable uploads over loopback HTTP PUT: ScanBridgeUpload against libcurl's C API in process (each stages to disk with fsync first)",
    contenders: [ours, libcurl], ours: ours)
var cpu = BenchmarkRecord.Table(
    id: "uploads-cpu", title: "CPU time of the same uploads (whole process, sink server included)", higherIsBetter: false,
    contenders: [ours, libcurl], ours: ours)

/// Wall seconds of `body`; its CPU time (milliseconds per `per`) goes to `cpuMilliseconds`.
@MainActor func turn(_ name: String, per: Int, cpuMilliseconds: TurnFigures, _ body: () async throws -> Void) async throws -> Double {
    let cpuBefore = processCPUSeconds()
    let seconds = try await Interleaved.seconds(body)
    cpuMilliseconds.record((processCPUSeconds() - cpuBefore) * 1000 / Double(per), for: name)
    return seconds
}

/// Runs the contenders in turns and adds a throughput row and a CPU row (warm-up round left out).
@MainActor func compare(id: String, label: String, unit: String, amount: Double, per: Int,
             ours oursBody: @escaping () async throws -> Void, reference referenceBody: @escaping () throws -> Void) async throws {
    let cpuMilliseconds = TurnFigures()
    let samples = try await Interleaved.run(rounds: rounds, [
        (name: ours, body: { try await turn(ours, per: per, cpuMilliseconds: cpuMilliseconds, oursBody) }),
        (name: libcurl, body: { try await turn(libcurl, per: per, cpuMilliseconds: cpuMilliseconds) { try referenceBody() } }),
    ])
    throughput.add(id: id, label: label, unit: unit, samples.mapValues { $0.rate(amount) })
    cpu.add(id: id, label: label, unit: "CPU ms per upload", cpuMilliseconds.samples)
}

// 1. One large document.
let large = Data((0..<(64 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) })
try await compare(id: "large", label: "64 MiB, one upload", unit: "MiB/s", amount: Double(large.count) / Double(1 << 20), per: 1,
    ours: { _ = try await uploader.upload(UploadDocument(data: large, fileName: "large.bin"), to: .httpPut(HTTPPutTarget(url: url)), options: options) },
    reference: { try reference.upload([large], to: [url]) })
// What durable staging alone costs in case 1: write, fsync, rename, remove.
let stagingOnly = try Measurement.run(runs: rounds) {
    try LibcurlReference.stage(large, at: folder + "/staged.bin")
    try FileManager.default.removeItem(atPath: folder + "/staged.bin")
}
record.notes.append("64 MiB: staging it (write + fsync + rename + remove) alone takes \(format(stagingOnly.median * 1000, digits: 0)) ms (median), part of both")

// 2. Many small documents, `concurrency` at a time.
let count = 100
let small = Data((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 40503) })
let smallURLs = (0..<count).map { url + "/\($0)" }
try await compare(id: "small", label: "\(count) × 256 KiB, \(concurrency) at a time", unit: "uploads/s", amount: Double(count), per: count,
    ours: {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    _ = try await uploader.upload(UploadDocument(data: small, fileName: "s\(index).bin"),
                                                  to: .httpPut(HTTPPutTarget(url: smallURLs[index])), options: options)
                }
            }
            try await group.waitForAll()
        }
    },
    reference: { try reference.upload(Array(repeating: small, count: count), to: smallURLs) })
await uploader.shutdown()
record.tables += [throughput, cpu]
try record.finish()
