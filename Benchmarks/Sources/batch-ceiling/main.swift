// The ceiling of `make batch-bench` (Benchmarks/batch_bench.py): the raw TurboJPEG encode rate of
// the very pages the batch scanned, through the imaging package's bare library calls
// (`RawLibraryCalls`, the reference imaging-bench uses). For each PNM page given it prints one JSON
// line: the best single-thread encode time and the rate with every core encoding at once.
//
// Usage: batch-ceiling [--runs N] FILE.pnm…   (P6 colour, P5 gray, P4 black and white)
// Black-and-white pages are expanded to 8-bit gray first (what a JPEG preview of them encodes).
import BenchmarkSupport
import Dispatch
import Foundation
@_spi(Benchmarks) import ScanBridgeImaging

struct PNMError: Error, CustomStringConvertible { var description: String }

/// Reads a binary PBM/PGM/PPM file (maxval 255) into an `Image`.
func readPNM(_ path: String) throws -> Image {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var position = 0
    func token() throws -> String {
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: "#") {
                while position < bytes.count, bytes[position] != 10 { position += 1 }
            } else if [9, 10, 13, 32].contains(bytes[position]) {
                position += 1
            } else { break }
        }
        let start = position
        while position < bytes.count, ![9, 10, 13, 32].contains(bytes[position]) { position += 1 }
        guard position > start else { throw PNMError(description: "\(path): truncated PNM header") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }
    let magic = try token()
    guard let width = Int(try token()), let height = Int(try token()) else {
        throw PNMError(description: "\(path): bad PNM size")
    }
    let format: PixelFormat
    switch magic {
    case "P4": format = .bw1
    case "P5", "P6":
        guard try token() == "255" else { throw PNMError(description: "\(path): only maxval 255 is supported") }
        format = magic == "P5" ? .gray8 : .rgb24
    default: throw PNMError(description: "\(path): \(magic) is not a binary PNM")
    }
    position += 1  // the single whitespace after the header
    let count = format.minimumStride(width: width) * height
    guard bytes.count - position >= count else { throw PNMError(description: "\(path): pixel data truncated") }
    return Image(width: width, height: height, format: format, pixels: Array(bytes[position..<position + count]))
}

var runs = 5
var paths: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--runs", let value = arguments.popFirst().flatMap(Int.init), value > 0 {
        runs = value
    } else {
        paths.append(argument)
    }
}
guard !paths.isEmpty else {
    FileHandle.standardError.write(Data("usage: batch-ceiling [--runs N] FILE.pnm…\n".utf8))
    exit(2)
}

let cores = ProcessInfo.processInfo.activeProcessorCount
for path in paths {
    let original: Image
    do { original = try readPNM(path) } catch {
        FileHandle.standardError.write(Data("batch-ceiling: \(error)\n".utf8))
        exit(1)
    }
    let page = original.format == .bw1 ? original.converted(to: .gray8) : original
    let subsampling: JPEGCodec.Subsampling = page.format == .gray8 ? .gray : .s420
    let calls = RawLibraryCalls(maxBytes: page.pixels.count * 2)
    var size = 0
    let single = Measurement.run(runs: runs) { size = calls.jpegEncode(page, quality: 85, subsampling: subsampling) }.best
    // Every core at once, each with its own handle, `runs` pages per core (best of 3).
    var parallelBest = Double.infinity
    let perCore = runs
    for _ in 0..<3 {
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: cores) { _ in
            let own = RawLibraryCalls(maxBytes: page.pixels.count * 2)
            for _ in 0..<perCore { _ = own.jpegEncode(page, quality: 85, subsampling: subsampling) }
        }
        parallelBest = min(parallelBest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let parallelRate = Double(runs * cores) / parallelBest
    print("{\"file\": \"\(path)\", \"width\": \(page.width), \"height\": \(page.height), \"format\": \"\(original.format.rawValue)\", "
        + "\"cores\": \(cores), \"single_seconds\": \(single), \"jpeg_bytes\": \(size), "
        + "\"pages_per_second_single_x_cores\": \(Double(cores) / single), \"pages_per_second_all_cores\": \(parallelRate)}")
}
