// storage-bench: does the image buffer keep the process's memory bounded while a long batch of
// A4 300 dpi colour pages (26 MB each) streams in, and what does spilling cost?
//
//   storage-bench [PAGES] [LIMIT_MB]      (defaults: 500 pages, BufferMemoryLimit 200 MB)
//
// Measures the process's own peak resident memory (VmHWM in /proc/self/status) after the
// producer phase and after reading every page back, the producer's append latencies, and, as the
// reference in the same run, a plain write of the same bytes to files in the same
// folder, a file per page (no encryption, no buffer).
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
let pageCount = arguments.count > 1 ? Int(arguments[1]) ?? 500 : 500
let limitMB = arguments.count > 2 ? Int(arguments[2]) ?? 200 : 200
let width = 2480, height = 3508   // A4 at 300 dpi
let pageBytes = width * height * 3

let folder = NSTemporaryDirectory() + "scanbridge-storage-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

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

// Producer: append every page as a scan job would, timing each append.
let buffer = try await ImageBuffer.open(cacheFolder: folder + "/cache",
                                        limits: BufferLimits(memoryBytes: limitMB << 20, maxPages: pageCount + 1))
var latencies: [Double] = []
let start = DispatchTime.now().uptimeNanoseconds
for number in 0..<pageCount {
    let page = makePage(number, template: template)
    let t0 = DispatchTime.now().uptimeNanoseconds
    try await buffer.append(page)
    latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
}
let produceSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
let peakAfterProduce = status("VmHWM")
let stats = await buffer.stats

// Reader: every page back, checked.
let readStart = DispatchTime.now().uptimeNanoseconds
var mismatches = 0
for index in 0..<pageCount {
    let page = try await buffer.content(at: index)
    guard case .raw(let image) = page.content, image.pixels.count == pageBytes,
          image.pixels[0..<8].elementsEqual(withUnsafeBytes(of: UInt64(index).littleEndian, Array.init)),
          image.pixels[4096] == template[4096] else { mismatches += 1; continue }
}
let readSeconds = Double(DispatchTime.now().uptimeNanoseconds - readStart) / 1e9
let peakAfterRead = status("VmHWM")
let reloads = await buffer.stats.reloads
await buffer.close()

// Reference: the same bytes written plainly (no encryption, no buffer), one file per page in
// the same folder, as the cache holds them, then removed.
let refStart = DispatchTime.now().uptimeNanoseconds
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
let refSeconds = Double(DispatchTime.now().uptimeNanoseconds - refStart) / 1e9
for number in 0..<pageCount { try? FileManager.default.removeItem(atPath: folder + "/reference-\(number).raw") }

let total = Double(pageCount * pageBytes)
latencies.sort()
var table = ResultTable(title: "Image buffer: \(pageCount) A4 300 dpi colour pages (\(mb(pageBytes)) each) through BufferMemoryLimit \(limitMB) MB",
                        columns: ["measure", "value"])
table.add(["machine", MachineDescription.current()])
table.add(["pages in, spilled to cache/ (AES-256-GCM)", "\(pageCount), \(stats.spillWrites) spill writes"])
table.add(["producer throughput (append, incl. spilling)", "\(format(Double(pageCount) / produceSeconds)) pages/s, \(format(total / produceSeconds / 1_048_576, digits: 0)) MB/s"])
table.add(["reference: plain write() of the same bytes, a file per page", "\(format(Double(pageCount) / refSeconds)) pages/s, \(format(total / refSeconds / 1_048_576, digits: 0)) MB/s"])
table.add(["append latency median / p99 / max", "\(format(latencies[latencies.count / 2])) / \(format(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])) / \(format(latencies.last!)) ms"])
table.add(["read-back of every page (reloaded from cache)", "\(format(Double(pageCount) / readSeconds)) pages/s, \(reloads) reloads, \(mismatches) mismatches"])
table.add(["buffer's peak resident content", mb(stats.peakResidentBytes)])
table.add(["process RSS before the batch", mb(baseline)])
table.add(["process peak RSS (VmHWM) after producing", "\(mb(peakAfterProduce)) = limit + \(mb(peakAfterProduce - (limitMB << 20)))"])
table.add(["process peak RSS (VmHWM) after reading back", "\(mb(peakAfterRead)) = limit + \(mb(peakAfterRead - (limitMB << 20)))"])
table.add(["data pushed through vs. peak RSS", "\(mb(pageCount * pageBytes)) vs \(mb(peakAfterRead))"])
print(table.render())
if mismatches > 0 { exit(1) }
