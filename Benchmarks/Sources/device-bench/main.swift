// device-bench: pages/s and MB/s of raw page acquisition from SANE's `test` backend at 300 dpi
// colour over its largest area (200 × 200 mm, 2362 × 2362 px, 16.7 MB a page), against
// `scanimage --batch` in the same run.
//
// Every contender's figure is a per-page slope from two ADF batch sizes (2 and 10 pages): the
// time of the 10-page batch minus that of the 2-page batch, over 8 pages. What a batch pays
// once (scanimage's process start and SANE initialisation, a session's sane_start) cancels, so
// a reused in-process session and a fresh scanimage process are compared on the same work: the
// pages. DEVICE_BENCH_RUNS rounds (default 5) after a warm-up, the contenders taking turns;
// medians and spread are printed and written as JSON (BenchmarkRecord).
//
// Contenders:
// - ScanBridgeDevices, raw: pages as `Image`s in memory (what the service's pipeline gets).
// - ScanBridgeDevices + PNM files: the same, each page written as PNM to a tmpfs folder.
// - scanimage --batch: SANE's own frontend writing PNM files to the same tmpfs folder.
import BenchmarkSupport
import Foundation
import ScanBridgeDevices
import ScanBridgeImaging

let runs = Int(ProcessInfo.processInfo.environment["DEVICE_BENCH_RUNS"] ?? "") ?? 5
let batchSizes = (small: 2, large: 10)
var record = BenchmarkRecord(benchmark: "device-bench", rounds: runs)

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
/// Sets the session's batch to `pages` sheets of the feeder, or to every sheet left (-1). The test
/// backend's feeder holds 10 sheets and refills only after a scan found it empty.
func configure(pages: Int) async throws {
    let plan = try await session.configure(DeviceConfiguration(pixelType: 2, resolution: 300, feederEnabled: true, transferCount: pages))
    precondition(plan.adjustments.isEmpty, "unexpected adjustments: \(plan.adjustments)")
}
let pageBytes = 2362 * 2362 * 3

func scanBatch(pages expected: Int, writeTo folder: String?) async throws {
    // A full feeder's batch runs until the feeder is empty, so that it refills for the next.
    try await configure(pages: expected == batchSizes.large ? -1 : expected)
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
    guard pages == expected else { throw BenchFailure(description: "batch gave \(pages) pages, not \(expected)") }
}

let scanimageArguments = ["-d", "test:0", "--source", "Automatic Document Feeder", "--mode", "Color", "--depth", "8",
                          "--test-picture", "Color pattern", "--resolution", "300", "-l", "0", "-t", "0", "-x", "200", "-y", "200",
                          "--format=pnm", "--batch=\(outputRoot)/p%d.pnm"]

/// Seconds a page: the larger batch's time minus the smaller's, over the pages between them.
/// (`configure` runs inside the timed batch for both sizes alike, so it cancels too.)
/// After the small batch, `afterSmall` (untimed) empties the feeder of an in-process session.
@MainActor func slope(_ batch: (Int) async throws -> Void, afterSmall: (() async throws -> Void)? = nil) async throws -> Double {
    let small = try await Interleaved.seconds { try await batch(batchSizes.small) }
    try await afterSmall?()
    let large = try await Interleaved.seconds { try await batch(batchSizes.large) }
    return (large - small) / Double(batchSizes.large - batchSizes.small)
}

@MainActor func emptyFeeder() async throws {
    try await configure(pages: -1)
    var pages = 0
    for try await _ in try await session.scan() { pages += 1 }
    await session.waitUntilIdle()
    guard pages == batchSizes.large - batchSizes.small else { throw BenchFailure(description: "\(pages) sheets were left in the feeder") }
}

let contenders: [(name: String, body: () async throws -> Double)] = [
    ("ScanBridgeDevices, raw (in memory)", {
        try await slope({ try await scanBatch(pages: $0, writeTo: nil) }, afterSmall: emptyFeeder)
    }),
    ("ScanBridgeDevices + PNM files (tmpfs)", {
        try await slope({ pages in
            let folder = try freshFolder()
            try await scanBatch(pages: pages, writeTo: folder)
        }, afterSmall: emptyFeeder)
    }),
    ("scanimage --batch, PNM files (tmpfs)", {
        try await slope { pages in
            _ = try freshFolder()
            _ = try runProcess("/usr/bin/scanimage", scanimageArguments + ["--batch-count=\(pages)"])
            let count = try FileManager.default.contentsOfDirectory(atPath: outputRoot).count
            guard count == pages else { throw BenchFailure(description: "scanimage wrote \(count) pages, not \(pages)") }
        }
    }),
]
let samples = try await Interleaved.run(rounds: runs, contenders)
await session.close()
let title = "SANE test backend, 300 dpi colour, 200×200 mm (16.7 MB/page); per-page slope of ADF batches of \(batchSizes.small) and \(batchSizes.large)"
let scanimage = contenders[2].name
for (id, label, ours) in [("raw-in-memory", "pages in memory", contenders[0].name), ("pnm-files", "pages written as PNM files to tmpfs", contenders[1].name)] {
    var table = BenchmarkRecord.Table(id: id, title: "Devices, \(label): \(title)", contenders: [ours, scanimage], ours: ours)
    table.add(id: "acquire", label: "acquisition", unit: "pages/s", samples.filter { [ours, scanimage].contains($0.key) }.mapValues { $0.rate(1) })
    record.tables.append(table)
}
record.notes.append("SANE \(try await SANEContext.shared.version()); a page is \(pageBytes) bytes; scanimage's PNM files are written to tmpfs as ours are")
try record.finish()
