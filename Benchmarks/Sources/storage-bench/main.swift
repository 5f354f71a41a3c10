// storage-bench: does the image buffer keep the process's memory bounded while a long batch of
// A4 300 dpi colour pages (26 MB each) streams in, and what does spilling cost?
//
//   storage-bench [PAGES] [LIMIT_MB]      (defaults: 100 pages a round, BufferMemoryLimit 200 MB)
//
// Each of STORAGE_BENCH_ROUNDS rounds (default 5, after a warm-up round) runs, in turns, ours
// and the reference, each on PAGES pages, each clock stopped only once the bytes are on disk
// (every file written, and its folder, fsync'ed after the last write):
// - ours: every page appended to an ImageBuffer as a scan job does (spilled to its encrypted
//   cache), then `flush()` (every spill write finished) and fsync; then every page read back
//   and checked;
// - reference: the same bytes written plainly (no encryption, no buffer), a file per page in
//   the same folder, then fsync.
// Also the process's own peak resident memory (VmHWM in /proc/self/status) over all rounds.
// Medians and spread are printed and written as JSON (BenchmarkRecord).
import BenchmarkSupport
import Foundation
import ScanBridgeImaging
import ScanBridgeStorage

func status(_ field: String) -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024   // kB → bytes
}

func mb(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576, digits: 0) + " MB" }

let arguments = CommandLine.arguments
let pageCount = arguments.count > 1 ? Int(arguments[1]) ?? 100 : 100
let limitMB = arguments.count > 2 ? Int(arguments[2]) ?? 200 : 200
let rounds = Int(ProcessInfo.processInfo.environment["STORAGE_BENCH_ROUNDS"] ?? "") ?? 5
let width = 2480, height = 3508   // A4 at 300 dpi
let pageBytes = width * height * 3
var record = BenchmarkRecord(benchmark: "storage-bench", rounds: rounds)

let folder = NSTemporaryDirectory() + "scanbridge-storage-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

/// Flushes every file under the folder, and the folders themselves, to disk (fsync), so that a
/// clock stopped after it measures bytes on disk rather than in the page cache.
func syncFolder() {
    func flush(_ path: String, directory: Bool) {
        let fd = open(path, O_RDONLY | (directory ? O_DIRECTORY : 0))
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
    let enumerator = FileManager.default.enumerator(atPath: folder)
    while let name = enumerator?.nextObject() as? String {
        let isDirectory = (enumerator?.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory
        flush(folder + "/" + name, directory: isDirectory)
    }
    flush(folder, directory: true)
}

/// A page whose pixels depend on its number (the first 8 bytes) so that read-back can be checked.
func makePage(_ number: Int, template: [UInt8]) -> Page {
    var pixels = template
    withUnsafeBytes(of: UInt64(number).littleEndian) { for i in 0..<8 { pixels[i] = $0[i]; pixels[pixels.count - 1 - i] = $0[i] } }
    return Page(image: Image(width: width, height: height, format: .rgb24, xDPI: 300, yDPI: 300, pixels: pixels))
}

// The allocator tuning `scanbridge serve` applies at start-up (see MemoryPolicy): the peak
// measured is the service's.
MemoryPolicy.returnLargeAllocationsToSystem()
var template = [UInt8](repeating: 0, count: pageBytes)
for i in stride(from: 0, to: pageBytes, by: 4096) { template[i] = UInt8(truncatingIfNeeded: i >> 12) }
let baseline = status("VmRSS")

var latencies: [Double] = []
var readRates: [Double] = []
var mismatches = 0, spillWrites = 0, reloads = 0, peakResident = 0

/// Ours: PAGES pages through the buffer until every spill write is on disk; then read back.
@MainActor func produceThroughBuffer() async throws -> Double {
    let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache",
                                            limits: BufferLimits(memoryBytes: limitMB << 20, maxPages: pageCount + 1))
    let seconds = try await Interleaved.seconds {
        for number in 0..<pageCount {
            let page = makePage(number, template: template)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try await buffer.append(page)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        if let error = await buffer.flush() { throw error }
        syncFolder()
    }
    let stats = await buffer.stats
    spillWrites = stats.spillWrites
    peakResident = max(peakResident, stats.peakResidentBytes)
    let readSeconds = try await Interleaved.seconds {
        for index in 0..<pageCount {
            let page = try await buffer.content(at: index)
            guard case .raw(let image) = page.content, image.pixels.count == pageBytes,
                  image.pixels[0..<8].elementsEqual(withUnsafeBytes(of: UInt64(index).littleEndian, Array.init)),
                  image.pixels[4096] == template[4096] else { mismatches += 1; continue }
        }
    }
    readRates.append(Double(pageCount) / readSeconds)
    reloads = await buffer.stats.reloads
    await buffer.close()
    return seconds
}

/// Reference: the same bytes written plainly, a file per page, until they are on disk; then removed.
@MainActor func writePlainly() throws -> Double {
    let seconds = try Interleaved.seconds {
        for number in 0..<pageCount {
            let page = makePage(number, template: template)
            if case .raw(let image) = page.content {
                let path = folder + "/reference-\(number).raw"
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try handle.write(contentsOf: image.pixels)
                try handle.close()
            }
        }
        syncFolder()
    }
    for number in 0..<pageCount { try? FileManager.default.removeItem(atPath: folder + "/reference-\(number).raw") }
    return seconds
}

let samples = try await Interleaved.run(rounds: rounds, [
    (name: "ImageBuffer (AES-256-GCM spill)", body: { try await produceThroughBuffer() }),
    (name: "plain write()", body: { try writePlainly() }),
])
let peak = status("VmHWM")
var table = BenchmarkRecord.Table(id: "buffer", title: "Image buffer: \(pageCount) A4 300 dpi colour pages (\(mb(pageBytes)) each) a round through BufferMemoryLimit \(limitMB) MB, until on disk",
                                  contenders: ["ImageBuffer (AES-256-GCM spill)", "plain write()"], ours: "ImageBuffer (AES-256-GCM spill)")
table.add(id: "produce", label: "pages in, until every spill write is on disk", unit: "pages/s", samples.mapValues { $0.rate(Double(pageCount)) })
table.add(id: "read-back", label: "read-back of every page (reloaded from the cache)", unit: "pages/s", ["ImageBuffer (AES-256-GCM spill)": Samples(readRates)])
latencies.sort()
record.tables.append(table)
record.notes.append("\(spillWrites) spill writes a round; \(reloads) reloads; \(mismatches) mismatches on read-back")
record.notes.append("append latency median / p99 / max: \(format(latencies[latencies.count / 2])) / \(format(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])) / \(format(latencies.last!)) ms")
record.notes.append("process RSS before the batch \(mb(baseline)); buffer's peak resident content \(mb(peakResident)); process peak RSS (VmHWM) over every round \(mb(peak)) = limit + \(mb(peak - (limitMB << 20)))")
try record.finish()
if mismatches > 0 { exit(1) }
