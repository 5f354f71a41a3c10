// The ceilings of `make batch-bench` (Benchmarks/batch_bench.py), each printed as one JSON line.
//
//   batch-ceiling [--runs N] FILE.pnm…
//       The raw encode rate of the very pages the batch scanned, through the imaging package's bare
//       library calls (`RawLibraryCalls`, imaging-bench's reference): TurboJPEG q85 for colour
//       (P6) and gray (P5); for black and white (P4) what the BW flow must do at least, a CCITT G4
//       encode of the 1-bit page (libtiff) — never an expanded 8-bit page. The best single-thread
//       time and the rate with every core encoding at once.
//
//   batch-ceiling --acquire colour|gray|bw [--pages N] [--service-memory-policy]
//       The per-page CPU floor of a scan job: N pages (a multiple of 10: ADF batches) acquired
//       from SANE's test backend (SANE_CONFIG_DIR as the service gets it; A4 at 300 dpi) with
//       ScanBridgeDevices, as the service acquires them, and each encoded once (TurboJPEG q85;
//       for BW G4, and in a separate pass PNG level 3, the stored form). CPU seconds a page
//       (this process's utime + stime, every thread) for acquisition alone and with each encode.
//       --service-memory-policy applies the allocator tuning `scanbridge serve` runs under
//       (MemoryPolicy: every block of 1 MiB or more its own mmap, returned when freed), so that
//       what fresh memory for each page costs can be told apart.
import BenchmarkSupport
import Dispatch
import Foundation
@_spi(Benchmarks) import ScanBridgeImaging
import ScanBridgeDevices
import ScanBridgeStorage

struct Failure: Error, CustomStringConvertible { var description: String }

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
        guard position > start else { throw Failure(description: "\(path): truncated PNM header") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }
    let magic = try token()
    guard let width = Int(try token()), let height = Int(try token()) else {
        throw Failure(description: "\(path): bad PNM size")
    }
    let format: PixelFormat
    switch magic {
    case "P4": format = .bw1
    case "P5", "P6":
        guard try token() == "255" else { throw Failure(description: "\(path): only maxval 255 is supported") }
        format = magic == "P5" ? .gray8 : .rgb24
    default: throw Failure(description: "\(path): \(magic) is not a binary PNM")
    }
    position += 1  // the single whitespace after the header
    let count = format.minimumStride(width: width) * height
    guard bytes.count - position >= count else { throw Failure(description: "\(path): pixel data truncated") }
    return Image(width: width, height: height, format: format, pixels: Array(bytes[position..<position + count]))
}

/// The one encode the flow must do for `page` at least: JPEG q85 for colour and gray, G4 for BW.
func floorEncode(_ calls: RawLibraryCalls, _ page: Image) -> Int {
    switch page.format {
    case .bw1:
        var copy = page
        return calls.tiffEncode(&copy, compression: .ccittG4)
    case .gray8: return calls.jpegEncode(page, quality: 85, subsampling: .gray)
    default: return calls.jpegEncode(page, quality: 85, subsampling: .s420)
    }
}

func printJSON(_ object: [String: Any]) throws {
    print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
}

let cores = ProcessInfo.processInfo.activeProcessorCount

func fileCeilings(_ paths: [String], runs: Int) throws {
    for path in paths {
        let page = try readPNM(path)
        let calls = RawLibraryCalls(maxBytes: page.pixels.count * 2 + 65536)
        var size = 0
        let single = Measurement.run(runs: runs) { size = floorEncode(calls, page) }.best
        // Every core at once, each with its own handle, `runs` pages per core (best of 3).
        var parallelBest = Double.infinity
        for _ in 0..<3 {
            parallelBest = min(parallelBest, Interleaved.seconds {
                DispatchQueue.concurrentPerform(iterations: cores) { _ in
                    let own = RawLibraryCalls(maxBytes: page.pixels.count * 2 + 65536)
                    for _ in 0..<runs { _ = floorEncode(own, page) }
                }
            })
        }
        try printJSON(["file": path, "width": page.width, "height": page.height, "format": page.format.rawValue,
                       "encoder": page.format == .bw1 ? "libtiff CCITT G4" : "TurboJPEG q85",
                       "cores": cores, "single_seconds": single, "encoded_bytes": size,
                       "pages_per_second_single_x_cores": Double(cores) / single,
                       "pages_per_second_all_cores": Double(runs * cores) / parallelBest])
    }
}

/// CPU seconds a page of acquisition from the test backend, then of acquisition plus each encode.
func acquisitionCeilings(mode: String, pages: Int) async throws {
    let pixelType = ["bw": 0, "gray": 1, "colour": 2][mode]
    guard let pixelType, pages > 0, pages % 10 == 0 else { throw Failure(description: "--acquire colour|gray|bw, --pages a multiple of 10") }
    let session = try await ScannerSession.open("test:0")
    for (name, value) in [("source", "Automatic Document Feeder"), ("tl-x", "0"), ("tl-y", "0"), ("br-x", "210"), ("br-y", "297")] {
        try await session.setOption(name, text: value)
    }
    _ = try await session.configure(DeviceConfiguration(pixelType: pixelType, resolution: 300, feederEnabled: true))
    let calls = RawLibraryCalls(maxBytes: 2480 * 3508 * 3 * 2)
    var result: [String: Any] = ["mode": mode, "pages": pages]
    let passes: [(String, ((Image) -> Int)?)] = mode == "bw"
        ? [("acquire", nil), ("acquire_g4", { floorEncode(calls, $0) }), ("acquire_png3", { calls.pngEncode($0, level: 3, filters: .none) })]
        : [("acquire", nil), ("acquire_jpeg", { floorEncode(calls, $0) })]
    // One batch first, untimed: the backend's first frames and the allocator's first pages.
    for try await _ in try await session.scan() {}
    await session.waitUntilIdle()
    for (name, encode) in passes {
        var scanned = 0
        let cpuStart = processCPUSeconds()
        let wall = try await Interleaved.seconds {
            while scanned < pages {
                for try await page in try await session.scan() {
                    guard let image = page.image else { throw Failure(description: "page without pixels") }
                    if scanned == 0 { result["width"] = image.width; result["height"] = image.height; result["format"] = image.format.rawValue }
                    if let encode { precondition(encode(image) > 0) }
                    scanned += 1
                }
                await session.waitUntilIdle()
            }
        }
        result["\(name)_cpu_per_page"] = (processCPUSeconds() - cpuStart) / Double(scanned)
        result["\(name)_wall_per_page"] = wall / Double(scanned)
    }
    await session.close()
    try printJSON(result)
}

var runs = 5, pages = 50
var acquire: String?
var paths: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--runs": runs = arguments.popFirst().flatMap(Int.init) ?? runs
    case "--pages": pages = arguments.popFirst().flatMap(Int.init) ?? pages
    case "--acquire": acquire = arguments.popFirst()
    case "--service-memory-policy": MemoryPolicy.returnLargeAllocationsToSystem()
    default: paths.append(argument)
    }
}
do {
    if let acquire {
        try await acquisitionCeilings(mode: acquire, pages: pages)
    } else if !paths.isEmpty {
        try fileCeilings(paths, runs: max(runs, 1))
    } else {
        throw Failure(description: "usage: batch-ceiling [--runs N] FILE.pnm… | batch-ceiling --acquire colour|gray|bw [--pages N]")
    }
} catch {
    FileHandle.standardError.write(Data("batch-ceiling: \(error)\n".utf8))
    exit(1)
}
