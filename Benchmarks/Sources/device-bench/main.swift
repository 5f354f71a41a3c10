// device-bench: pages/s and MB/s of raw page acquisition from SANE's `test` backend at 300 dpi
// colour over its largest area (200 × 200 mm, 2362 × 2362 px, 16.7 MB a page), one ADF batch
// of 10 pages per run, against `scanimage --batch` in the same run.
//
// Rows:
// - ScanBridgeDevices, raw: pages as `Image`s in memory (what the service's pipeline gets).
// - ScanBridgeDevices + PNM files: the same, each page written as PNM to a tmpfs folder.
// - scanimage --batch: SANE's own frontend writing PNM files to the same tmpfs folder
//   (includes its process start, about a millisecond).
// - scanbridge scan (when .build/release/scanbridge exists or SCANBRIDGE_BIN names a binary):
//   the CLI as a process, like scanimage.
import BenchmarkSupport
import Foundation
import ScanBridgeDevices
import ScanBridgeImaging

let runs = Int(ProcessInfo.processInfo.environment["DEVICE_BENCH_RUNS"] ?? "") ?? 5
let pagesPerBatch = 10

// A private SANE configuration with only the test backend; SANE reads it once per process.
let saneFolder = NSTemporaryDirectory() + "device-bench-sane-\(getpid())"
try FileManager.default.createDirectory(atPath: saneFolder, withIntermediateDirectories: true)
try "test\n".write(toFile: saneFolder + "/dll.conf", atomically: true, encoding: .utf8)
try String(contentsOfFile: "/etc/sane.d/test.conf", encoding: .utf8).write(toFile: saneFolder + "/test.conf", atomically: true, encoding: .utf8)
setenv("SANE_CONFIG_DIR", saneFolder, 1)
let outputRoot = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()) + "device-bench-\(getpid())"
defer {
    try? FileManager.default.removeItem(atPath: saneFolder)
    try? FileManager.default.removeItem(atPath: outputRoot)
}

func freshFolder() throws -> String {
    try? FileManager.default.removeItem(atPath: outputRoot)
    try FileManager.default.createDirectory(atPath: outputRoot, withIntermediateDirectories: true)
    return outputRoot
}

func runProcess(_ path: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

struct BenchFailure: Error, CustomStringConvertible { var description: String }

let session = try await ScannerSession.open("test:0")
for (name, value) in [("mode", "Color"), ("depth", "8"), ("test-picture", "Color pattern"), ("source", "Automatic Document Feeder"),
                      ("tl-x", "0"), ("tl-y", "0"), ("br-x", "200"), ("br-y", "200")] {
    try await session.setOption(name, text: value)
}
let plan = try await session.configure(DeviceConfiguration(pixelType: 2, resolution: 300, feederEnabled: true))
precondition(plan.adjustments.isEmpty, "unexpected adjustments: \(plan.adjustments)")
let pageBytes = 2362 * 2362 * 3

func scanBatch(writeTo folder: String?) async throws {
    var pages = 0
    for try await page in try await session.scan() {
        pages += 1
        guard let folder, let image = page.image else { continue }
        let path = folder + "/page-\(page.pageNumber).pnm"
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try PNMWriter.write(image, toFile: path) }) }
        }
    }
    await session.waitUntilIdle()
    guard pages == pagesPerBatch else { throw BenchFailure(description: "batch gave \(pages) pages") }
}

var table = ResultTable(title: "Devices: SANE test backend, 300 dpi colour, 200×200 mm (16.7 MB/page), ADF batches of \(pagesPerBatch)",
                        columns: ["acquisition", "best s/batch", "median s/batch", "pages/s (median)", "MB/s (median)"])
@MainActor func add(_ name: String, _ seconds: [Double]) {
    let sorted = seconds.sorted()
    let best = sorted.first ?? 0
    let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    let pagesPerSecond = Double(pagesPerBatch) / median
    table.add([name, format(best, digits: 3), format(median, digits: 3),
               format(pagesPerSecond), format(pagesPerSecond * Double(pageBytes) / 1e6)])
}

// Interleave the contenders run by run so that load changes on the shared machine hit all alike.
var results: [String: [Double]] = [:]
let scanimageArguments = ["-d", "test:0", "--source", "Automatic Document Feeder", "--mode", "Color", "--depth", "8",
                          "--test-picture", "Color pattern", "--resolution", "300", "-l", "0", "-t", "0", "-x", "200", "-y", "200",
                          "--format=pnm", "--batch=\(outputRoot)/p%d.pnm"]
let cliCandidates = [ProcessInfo.processInfo.environment["SCANBRIDGE_BIN"], "../.build/release/scanbridge", ".build/release/scanbridge"]
let cli = cliCandidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
for run in 0...runs {
    var timings: [(String, Double)] = []
    func time(_ name: String, _ body: () async throws -> Void) async throws {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        timings.append((name, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
    }
    try await time("ScanBridgeDevices, raw (in memory)") { try await scanBatch(writeTo: nil) }
    let folder = try freshFolder()
    try await time("ScanBridgeDevices + PNM files (tmpfs)") { try await scanBatch(writeTo: folder) }
    _ = try freshFolder()
    try await time("scanimage --batch, PNM files (tmpfs)") {
        _ = try runProcess("/usr/bin/scanimage", scanimageArguments)
        let count = try FileManager.default.contentsOfDirectory(atPath: outputRoot).count
        guard count == pagesPerBatch else { throw BenchFailure(description: "scanimage wrote \(count) pages") }
    }
    if let cli {
        _ = try freshFolder()
        try await time("scanbridge scan, PNM files (tmpfs)") {
            _ = try runProcess(cli, ["scan", "--device", "test:0", "--source", "adf", "--mode", "color", "--resolution", "300",
                                     "--page-size", "full", "--option", "test-picture=Color pattern", "--output", outputRoot])
            let count = try FileManager.default.contentsOfDirectory(atPath: outputRoot).count
            guard count == pagesPerBatch else { throw BenchFailure(description: "scanbridge wrote \(count) pages") }
        }
    }
    if run > 0 { for (name, seconds) in timings { results[name, default: []].append(seconds) } }  // run 0 warms up
}
await session.close()
for name in ["ScanBridgeDevices, raw (in memory)", "ScanBridgeDevices + PNM files (tmpfs)",
             "scanimage --batch, PNM files (tmpfs)", "scanbridge scan, PNM files (tmpfs)"] {
    if let seconds = results[name] { add(name, seconds) }
}
print(table.render())
print("Machine: \(MachineDescription.current()); \(runs) runs after a warm-up, interleaved; SANE \(try await SANEContext.shared.version()).")
