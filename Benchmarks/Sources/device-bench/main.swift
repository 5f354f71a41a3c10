// device-bench: pages/s and CPU seconds a page of raw page acquisition from SANE's `test` backend
// at 300 dpi colour over its largest area (200 × 200 mm, 2362 × 2362 px, 16.7 MB a page), against
// `scanimage --batch` in the same run.
//
// Every contender's figure is a per-page slope from two batch sizes (2 and 32 pages from the
// flatbed, which the test backend scans again and again; its feeder holds only 10 sheets): the
// large batch's figure minus the small one's, over the 30 pages between them. What a batch pays
// once (scanimage's process start and SANE initialisation, a session's sane_start) cancels, so
// a reused in-process session and a fresh scanimage process are compared on the same work: the
// pages. Each slope is taken in wall-clock time and in CPU time (every thread of the process
// doing the work: ours, or the scanimage child; both include the test backend's reader thread
// drawing the picture), and the page faults a page are noted. DEVICE_BENCH_RUNS rounds (default
// 7) after a warm-up, the contenders taking turns; medians and spread are printed and written
// as JSON (BenchmarkRecord).
//
// Contenders:
// - ScanBridgeDevices, raw: pages as `Image`s in memory (what the service's pipeline gets).
// - ScanBridgeDevices + PNM files: the same, each page written as PNM to a tmpfs folder.
// - scanimage --batch: SANE's own frontend writing PNM files to the same tmpfs folder.
import BenchmarkSupport
import Foundation
import ScanBridgeDevices
import ScanBridgeImaging

let runs = Int(ProcessInfo.processInfo.environment["DEVICE_BENCH_RUNS"] ?? "") ?? 7
let batchSizes = (small: 2, large: 32)
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
for (name, value) in [("mode", "Color"), ("depth", "8"), ("test-picture", "Color pattern"), ("source", "Flatbed"),
                      ("tl-x", "0"), ("tl-y", "0"), ("br-x", "200"), ("br-y", "200")] {
    try await session.setOption(name, text: value)
}
/// 300 dpi colour from the flatbed; a batch's page count is given to `scan`.
let plan = try await session.configure(DeviceConfiguration(pixelType: 2, resolution: 300, feederEnabled: false))
precondition(plan.adjustments.isEmpty, "unexpected adjustments: \(plan.adjustments)")
let pageBytes = 2362 * 2362 * 3

func scanBatch(pages expected: Int, writeTo folder: String?) async throws {
    var pages = 0
    for try await page in try await session.scan(maxPages: expected) {
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

let scanimageArguments = ["-d", "test:0", "--source", "Flatbed", "--mode", "Color", "--depth", "8",
                          "--test-picture", "Color pattern", "--resolution", "300", "-l", "0", "-t", "0", "-x", "200", "-y", "200",
                          "--format=pnm", "--batch=\(outputRoot)/p%d.pnm"]

/// What a batch cost: wall-clock seconds, CPU seconds and minor page faults.
struct Cost {
    var seconds = 0.0, cpuSeconds = 0.0, pageFaults = 0.0

    static func - (a: Cost, b: Cost) -> Cost {
        Cost(seconds: a.seconds - b.seconds, cpuSeconds: a.cpuSeconds - b.cpuSeconds, pageFaults: a.pageFaults - b.pageFaults)
    }

    static func / (a: Cost, n: Double) -> Cost { Cost(seconds: a.seconds / n, cpuSeconds: a.cpuSeconds / n, pageFaults: a.pageFaults / n) }

    /// CPU time and minor faults so far of this process (`RUSAGE_SELF`) or of its ended children.
    static func usage(_ who: Int32) -> Cost {
        var usage = rusage()
        getrusage(__rusage_who_t(who), &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return Cost(seconds: Double(DispatchTime.now().uptimeNanoseconds) / 1e9, cpuSeconds: cpu, pageFaults: Double(usage.ru_minflt))
    }
}

/// The cost of `batch`, counted in this process or (`inChild`) in the child processes it waited for.
@MainActor func cost(inChild: Bool, _ batch: () async throws -> Void) async throws -> Cost {
    let who = inChild ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue
    let start = Cost.usage(who)
    try await batch()
    var spent = Cost.usage(who) - start
    // The children's figures hold no wall-clock time: take it from this process's clock.
    if inChild { spent.seconds = Cost.usage(RUSAGE_SELF.rawValue).seconds - start.seconds }
    return spent
}

/// The cost of a page: the larger batch's cost minus the smaller's, over the pages between them.
var perPage: [String: [Cost]] = [:]
@MainActor func slope(_ name: String, inChild: Bool = false, _ batch: (Int) async throws -> Void) async throws -> Double {
    let small = try await cost(inChild: inChild) { try await batch(batchSizes.small) }
    let large = try await cost(inChild: inChild) { try await batch(batchSizes.large) }
    let page = (large - small) / Double(batchSizes.large - batchSizes.small)
    perPage[name, default: []].append(page)
    return page.seconds
}

let names = (raw: "ScanBridgeDevices, raw (in memory)", files: "ScanBridgeDevices + PNM files (tmpfs)", scanimage: "scanimage --batch, PNM files (tmpfs)")
let contenders: [(name: String, body: () async throws -> Double)] = [
    (names.raw, {
        try await slope(names.raw) { try await scanBatch(pages: $0, writeTo: nil) }
    }),
    (names.files, {
        try await slope(names.files) { pages in
            let folder = try freshFolder()
            try await scanBatch(pages: pages, writeTo: folder)
        }
    }),
    (names.scanimage, {
        try await slope(names.scanimage, inChild: true) { pages in
            _ = try freshFolder()
            _ = try runProcess("/usr/bin/scanimage", scanimageArguments + ["--batch-count=\(pages)"])
            let count = try FileManager.default.contentsOfDirectory(atPath: outputRoot).count
            guard count == pages else { throw BenchFailure(description: "scanimage wrote \(count) pages, not \(pages)") }
        }
    }),
]
_ = try await Interleaved.run(rounds: runs, contenders)
await session.close()
// The warm-up round's figures are not results.
perPage = perPage.mapValues { Array($0.dropFirst()) }
let title = "SANE test backend, 300 dpi colour, 200×200 mm (16.7 MB/page); per-page slope of flatbed batches of \(batchSizes.small) and \(batchSizes.large)"
for (id, label, ours) in [("raw-in-memory", "pages in memory", names.raw), ("pnm-files", "pages written as PNM files to tmpfs", names.files)] {
    var table = BenchmarkRecord.Table(id: id, title: "Devices, \(label): \(title)", contenders: [ours, names.scanimage], ours: ours)
    let pages = { (figure: (Cost) -> Double) in
        [ours, names.scanimage].reduce(into: [String: Samples]()) { $0[$1] = Samples(perPage[$1, default: []].map(figure)).rate(1) }
    }
    table.add(id: "acquire", label: "acquisition, wall clock", unit: "pages/s", pages(\.seconds))
    table.add(id: "acquire-cpu", label: "acquisition, CPU time (every thread)", unit: "pages/CPU s", pages(\.cpuSeconds))
    record.tables.append(table)
}
for name in [names.raw, names.files, names.scanimage] {
    let faults = Samples(perPage[name, default: []].map { max(0, $0.pageFaults) })
    record.notes.append("\(name): \(format(faults.median, digits: 0)) minor page faults a page (\(format(faults.min, digits: 0))–\(format(faults.max, digits: 0)))")
}
record.notes.append("SANE \(try await SANEContext.shared.version()); a page is \(pageBytes) bytes; scanimage's PNM files are written to tmpfs as ours are")
try record.finish()
