// imaging-bench: ScanBridgeImaging against references in the same run (see README "Imaging").
import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import ScanBridgeImaging
import ScanBridgeStorage

// MARK: Realistic A4 pages (text-like detail, paper noise, a photo)

struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

func makePage(dpi: Int = 300, seed: UInt64 = 1) -> Image {
    let width = 210 * dpi * 10 / 254, height = 297 * dpi * 10 / 254
    var rng = Random(state: seed)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    pixels.withUnsafeMutableBufferPointer { p in
        for i in 0..<width * height {
            let v = UInt8(240 + Int(rng.next() & 15))
            p[3 * i] = v; p[3 * i + 1] = v; p[3 * i + 2] = v &- 6
        }
        let margin = width / 12, lineHeight = height / 60, glyph = lineHeight / 2
        var y = margin
        while y < height * 6 / 10 {
            var x = margin
            while x < width - margin - rng.int(0..<(width / 5)) {
                for _ in 0..<rng.int(2..<5) {
                    let x0 = x + rng.int(0..<glyph), y0 = y + rng.int(0..<glyph), ink = UInt8(rng.int(10..<70))
                    let vertical = rng.int(0..<2) == 0
                    for t in 0..<glyph {
                        for w in 0..<3 {
                            let px = vertical ? x0 + w : x0 + t / 2, py = vertical ? y0 + t / 2 : y0 + w
                            if px < width && py < height { let i = 3 * (py * width + px); p[i] = ink; p[i + 1] = ink; p[i + 2] = ink }
                        }
                    }
                }
                x += glyph + 3
                if rng.int(0..<7) == 0 { x += glyph }
            }
            y += lineHeight
        }
        for py in height * 65 / 100..<(height - margin) {
            for px in margin..<(width - margin) {
                let i = 3 * (py * width + px)
                p[i] = UInt8(truncatingIfNeeded: px * 255 / width + rng.int(0..<24))
                p[i + 1] = UInt8(truncatingIfNeeded: py * 255 / height + rng.int(0..<24))
                p[i + 2] = UInt8(truncatingIfNeeded: (px + py) % 200 + rng.int(0..<24))
            }
        }
    }
    return Image(width: width, height: height, format: .rgb24, xDPI: Double(dpi), yDPI: Double(dpi), pixels: pixels)
}

func megapixels(_ image: Image) -> Double { Double(image.width * image.height) / 1e6 }

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

@discardableResult
func runProcess(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Double {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = environment.map { "\($0.key)=\($0.value)" } + [tool] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    let start = DispatchTime.now().uptimeNanoseconds
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ScanBridgeBenchError.tool("\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)") }
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

enum ScanBridgeBenchError: Error { case tool(String) }

func bestOf(_ runs: Int, _ body: () throws -> Double) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs { best = min(best, try body()) }
    return best
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-bench-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
@MainActor func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

let cores = ProcessInfo.processInfo.activeProcessorCount
let VIPS_VERSION: String = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["vips", "--version"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}()
print("Machine: \(MachineDescription.current()); load average at start: \(loadAverage())")
print("Pages: A4 at 300 dpi (2480×3508, 8.7 MP), generated text-like detail + noise + photo\n")

let colour = makePage()
let gray = colour.converted(to: .gray8)
let bw = gray.thresholded()
let raw = RawLibraryCalls(maxBytes: colour.pixels.count * 2)
let colourJPEG = try JPEGCodec.encode(colour, quality: 85)
/// Sections to run: all, or those named on the command line (codecs, resize, pipeline, pdf).
let requested = Set(CommandLine.arguments.dropFirst())
func wants(_ section: String) -> Bool { requested.isEmpty || requested.contains(section) }

// MARK: 1. Codecs vs raw library calls
if wants("codecs") {

    var codecs = ResultTable(title: "Codecs vs raw library calls (single thread, best of 9 interleaved runs)",
                             columns: ["operation", "ScanBridge MP/s", "raw call MP/s", "overhead"])
    @MainActor func codecRow(_ name: String, _ image: Image, ours: () throws -> Void, raw rawCall: (() -> Void)?) rethrows {
        // Interleaved runs (ours, raw, ours, raw, …) so that both see the same machine load.
        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        try ours(); rawCall?()
        var mine = Double.infinity, reference = Double.infinity
        for _ in 0..<9 {
            mine = min(mine, try time(ours))
            if let rawCall { reference = min(reference, time(rawCall)) }
        }
        let mp = megapixels(image)
        if rawCall != nil {
            codecs.add([name, format(mp / mine), format(mp / reference), format((mine / reference - 1) * 100, digits: 1) + " %"])
        } else {
            codecs.add([name, format(mp / mine), "—", "—"])
        }
    }
    let grayPNG = try PNGCodec.encode(gray, compressionLevel: 1)
    let colourPNG = try PNGCodec.encode(colour, compressionLevel: 1)
    try codecRow("JPEG encode colour q85 4:2:0", colour, ours: { _ = try JPEGCodec.encode(colour, quality: 85) },
                 raw: { _ = raw.jpegEncode(colour, quality: 85, subsampling: .s420) })
    try codecRow("JPEG encode gray q85", gray, ours: { _ = try JPEGCodec.encode(gray, quality: 85) },
                 raw: { _ = raw.jpegEncode(gray, quality: 85, subsampling: .gray) })
    try codecRow("JPEG decode colour", colour, ours: { _ = try JPEGCodec.decode(colourJPEG) },
                 raw: { raw.jpegDecode(colourJPEG, width: colour.width, height: colour.height, gray: false) })
    try codecRow("JPEG decode colour at 1/8 (DCT-scaled)", colour, ours: { _ = try JPEGCodec.decode(colourJPEG, scaleDenominator: 8) },
                 raw: { raw.jpegDecode(colourJPEG, width: (colour.width + 7) / 8, height: (colour.height + 7) / 8, gray: false) })
    try codecRow("PNG encode gray level 1, fast filters", gray, ours: { _ = try PNGCodec.encode(gray, compressionLevel: 1) },
                 raw: { _ = raw.pngEncode(gray, level: 1, filters: .fast) })
    try codecRow("PNG encode colour level 1, fast filters", colour, ours: { _ = try PNGCodec.encode(colour, compressionLevel: 1) },
                 raw: { _ = raw.pngEncode(colour, level: 1, filters: .fast) })
    try codecRow("PNG encode bw1 level 6", bw, ours: { _ = try PNGCodec.encode(bw, compressionLevel: 6) },
                 raw: { _ = raw.pngEncode(bw, level: 6, filters: .none) })
    try codecRow("PNG decode gray", gray, ours: { _ = try PNGCodec.decode(grayPNG) }, raw: { raw.pngDecode(grayPNG, color: false) })
    try codecRow("PNG decode colour", colour, ours: { _ = try PNGCodec.decode(colourPNG) }, raw: { raw.pngDecode(colourPNG, color: true) })
    var grayCopy = gray, bwCopy = bw
    try codecRow("TIFF LZW encode gray", gray, ours: { _ = try TIFFCodec.encode(gray, compression: .lzw) },
                 raw: { _ = raw.tiffEncode(&grayCopy, compression: .lzw) })
    try codecRow("TIFF CCITT G4 encode bw1", bw, ours: { _ = try TIFFCodec.encode(bw, compression: .ccittG4) },
                 raw: { _ = raw.tiffEncode(&bwCopy, compression: .ccittG4) })
    let grayTIFF = try TIFFCodec.encode(gray, compression: .lzw)
    try codecRow("TIFF LZW decode gray", gray, ours: { _ = try TIFFCodec.decode(grayTIFF) }, raw: nil)
    let colourBMP = try BMPCodec.encode(colour)
    try codecRow("BMP encode colour (own code)", colour, ours: { _ = try BMPCodec.encode(colour) }, raw: nil)
    try codecRow("BMP decode colour (own code)", colour, ours: { _ = try BMPCodec.decode(colourBMP) }, raw: nil)
    print(codecs.render())
}

// MARK: 2. Resize and thumbnail vs vips
if wants("resize") {

    /// `count` copies of `page` stacked vertically: a big input so that vips' process start-up is
    /// a small part of its time.
    func stacked(_ page: Image, _ count: Int) -> Image {
        var pixels = [UInt8]()
        pixels.reserveCapacity(page.pixels.count * count)
        for _ in 0..<count { pixels += page.pixels }
        return Image(width: page.width, height: page.height * count, format: page.format, xDPI: page.xDPI, yDPI: page.yDPI, pixels: pixels)
    }
    let stack = 4
    let bigGray = stacked(gray, stack), bigColour = stacked(colour, stack)
    try Data(try PNGCodec.encode(bigGray, compressionLevel: 1)).write(to: URL(fileURLWithPath: path("gray.png")))
    try Data(try PNGCodec.encode(bigColour, compressionLevel: 1)).write(to: URL(fileURLWithPath: path("colour.png")))
    try runProcess("vips", ["copy", path("gray.png"), path("gray.v")])
    try runProcess("vips", ["copy", path("colour.png"), path("colour.v")])
    try runProcess("vips", ["black", path("tiny.v"), "1", "1"])
    let vipsStartup = try bestOf(5) { try runProcess("vips", ["copy", path("tiny.v"), path("tiny2.v")]) }

    var resize = ResultTable(title: "Resize and thumbnail vs vips \(VIPS_VERSION) (best of 5; vips figures are whole processes including start-up, which alone takes \(format(vipsStartup * 1000, digits: 0)) ms)",
                             columns: ["operation", "ScanBridge MP/s (1 thread)", "vips MP/s (VIPS_CONCURRENCY=1)", "vips MP/s (all cores)"])
    for (name, image, file) in [("gray", bigGray, "gray.v"), ("colour", bigColour, "colour.v")] {
        for scale in [0.25, 0.5] {
            let w = Int(Double(image.width) * scale), h = Int(Double(image.height) * scale)
            let mine = Measurement.run(runs: 5) { _ = image.resized(width: w, height: h) }.best
            let vipsOne = try bestOf(5) { try runProcess("vips", ["resize", path(file), path("out.v"), String(scale)], environment: ["VIPS_CONCURRENCY": "1"]) }
            let vipsAll = try bestOf(5) { try runProcess("vips", ["resize", path(file), path("out.v"), String(scale)]) }
            let mp = megapixels(image)
            resize.add(["resize \(stack) stacked A4 \(name) pages (\(format(mp)) MP) ×\(scale)", format(mp / mine), format(mp / vipsOne), format(mp / vipsAll)])
        }
    }
    do {
        let files = 16
        var names: [String] = []
        for i in 0..<files {
            let name = path("thumbsource\(i).jpg")
            try Data(colourJPEG).write(to: URL(fileURLWithPath: name))
            names.append(name)
        }
        let mine = try Measurement.run(runs: 5) {
            for (i, name) in names.enumerated() {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: name)))
                let small = try JPEGCodec.decode(bytes, atLeastWidth: 200, height: 200).fitted(maxWidth: 200, maxHeight: 200)
                try Data(try JPEGCodec.encode(small, quality: 75)).write(to: URL(fileURLWithPath: path("thumb\(i).jpg")))
            }
        }.best
        let arguments = names + ["-s", "200", "-o", "%s_vips.jpg"]
        let vipsOne = try bestOf(5) { try runProcess("vipsthumbnail", arguments, environment: ["VIPS_CONCURRENCY": "1"]) }
        let vipsAll = try bestOf(5) { try runProcess("vipsthumbnail", arguments) }
        let mp = megapixels(colour) * Double(files)
        resize.add(["thumbnail ≤200 px of \(files) A4 colour JPEG files (read, DCT-scaled decode, fit, encode, write)", format(mp / mine), format(mp / vipsOne), format(mp / vipsAll)])
    }
    print(resize.render())
}

// MARK: 3. Pipeline pages/s
if wants("pipeline") {

    let pageCount = 4 * cores
    var pipeline = ResultTable(title: "Pipeline: \(pageCount) A4 300 dpi pages through parallelMap on the compute pool (\(cores) threads, best of 3)",
                               columns: ["pages", "stored form", "pipeline pages/s", "raw 1 thread × \(cores)", "ratio", "raw on \(cores) threads at once", "ratio"])
    /// The raw encoder on `cores` threads at once (dispatch workers, each with its own handle):
    /// the same-load reference for the pipeline.
    func rawParallelRate(_ page: Image, count: Int, cores: Int, _ encode: @escaping @Sendable (RawLibraryCalls, Image) -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: cores) { _ in
                let calls = RawLibraryCalls(maxBytes: page.pixels.count * 2)
                for _ in 0..<count / cores { encode(calls, page) }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(count / cores * cores) / best
    }
    @MainActor func pagesStream(_ page: Image, _ count: Int) -> AsyncStream<Image> {
        AsyncStream { continuation in
            for _ in 0..<count { continuation.yield(page) }
            continuation.finish()
        }
    }
    @MainActor func pipelineRate(_ page: Image, _ encode: @escaping @Sendable (Image) throws -> Int) async throws -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            var total = 0
            for try await size in pagesStream(page, pageCount).parallelMap(encode) { total += size }
            precondition(total > 0)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(pageCount) / best
    }
    for (name, page, subsampling) in [("colour", colour, JPEGCodec.Subsampling.s420), ("gray", gray, .gray)] {
        let single = Measurement.run(runs: 5) { _ = raw.jpegEncode(page, quality: 85, subsampling: subsampling) }.best
        let ideal = Double(cores) / single
        let rate = try await pipelineRate(page) { try JPEGCodec.encode($0, quality: 85).count }
        let parallel = rawParallelRate(page, count: pageCount, cores: cores) { _ = $0.jpegEncode($1, quality: 85, subsampling: subsampling) }
        pipeline.add([name, "JPEG q85", format(rate, digits: 2), format(ideal, digits: 2), format(rate / ideal * 100, digits: 0) + " %",
                      format(parallel, digits: 2), format(rate / parallel * 100, digits: 0) + " %"])
    }
    do {
        let single = try Measurement.run(runs: 5) { _ = try StoredForm.encode(bw) }.best
        let reference = Double(cores) / single
        let rate = try await pipelineRate(bw) { try StoredForm.encode($0).bytes.count }
        pipeline.add(["BW", "PNG 1-bit (encoder: ScanBridge's)", format(rate, digits: 2), format(reference, digits: 2), format(rate / reference * 100, digits: 0) + " %", "—", "—"])
        let g4single = try Measurement.run(runs: 5) { _ = try TIFFCodec.encode(bw, compression: .ccittG4) }.best
        let g4rate = try await pipelineRate(bw) { try TIFFCodec.encode($0, compression: .ccittG4).count }
        let g4parallel = rawParallelRate(bw, count: pageCount, cores: cores) { calls, page in var copy = page; _ = calls.tiffEncode(&copy, compression: .ccittG4) }
        pipeline.add(["BW", "TIFF G4 (encoder: ScanBridge's)", format(g4rate, digits: 2), format(Double(cores) / g4single, digits: 2), format(g4rate / (Double(cores) / g4single) * 100, digits: 0) + " %",
                      format(g4parallel, digits: 2) + " (raw libtiff)", format(g4rate / g4parallel * 100, digits: 0) + " %"])
    }
    // The stage a scan job runs between scanner and buffer, step by step on one thread and
    // whole through `scanPipeline` on the pool.
    var stages = ResultTable(title: "Scan pipeline stages (ScanPipeline): \(pageCount) A4 300 dpi pages, \(cores) pool threads, best of 3",
                             columns: ["page", "stored form ms (1 thread)", "thumbnail source ms (1 thread)", "scanPipeline pages/s"])
    for (name, page) in [("colour", colour), ("gray", gray), ("BW", bw)] {
        let stored = Measurement.run(runs: 5) { _ = ScanPipeline.storedForm(of: page) }.best
        let reduced = Measurement.run(runs: 5) { _ = ScanPipeline.thumbnailSource(of: page) }.best
        var time = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            for try await (_, products) in pagesStream(page, pageCount).scanPipeline(image: { $0 }) { precondition(products.storedForm != nil) }
            time = min(time, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        stages.add([name, format(stored * 1000, digits: 1), format(reduced * 1000, digits: 2), format(Double(pageCount) / time, digits: 2)])
    }
    print(stages.render())
    print(pipeline.render())
}

// MARK: 4. 100-page PDF from JPEG pages vs img2pdf
if wants("pdf") {

    let pdfPages = 100
    var jpegFiles: [String] = []
    for i in 0..<4 {
        let page = makePage(dpi: 200, seed: UInt64(10 + i))
        try Data(try JPEGCodec.encode(page, quality: 85)).write(to: URL(fileURLWithPath: path("p\(i).jpg")))
    }
    for i in 0..<pdfPages {
        let file = path(String(format: "page%03d.jpg", i))
        try? FileManager.default.removeItem(atPath: file)
        try FileManager.default.copyItem(atPath: path("p\(i % 4).jpg"), toPath: file)
        jpegFiles.append(file)
    }
    let ours = try Measurement.run(runs: 3) {
        let writer = try PDFWriter(path: path("ours.pdf"))
        for file in jpegFiles { try writer.addPage(jpeg: [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))) }
        try writer.finish()
    }.best
    let img2pdf = try bestOf(3) { try runProcess("img2pdf", jpegFiles + ["-o", path("img2pdf.pdf")]) }
    try runProcess("qpdf", ["--check", path("ours.pdf")])
    let size = (try FileManager.default.attributesOfItem(atPath: path("ours.pdf"))[.size] as? Int) ?? 0
    var pdf = ResultTable(title: "100-page PDF from A4 200 dpi JPEG files (best of 3, files in page cache)",
                          columns: ["writer", "seconds", "pages/s", "output MB"])
    pdf.add(["ScanBridge PDFWriter (qpdf --check passes)", format(ours, digits: 3), format(Double(pdfPages) / ours, digits: 0), format(Double(size) / 1e6)])
    let size2 = (try FileManager.default.attributesOfItem(atPath: path("img2pdf.pdf"))[.size] as? Int) ?? 0
    pdf.add(["img2pdf \(String((try? String(contentsOfFile: "/usr/lib/python3/dist-packages/img2pdf.py", encoding: .utf8)) != nil ? "(Debian package)" : ""))", format(img2pdf, digits: 3), format(Double(pdfPages) / img2pdf, digits: 0), format(Double(size2) / 1e6)])
    print(pdf.render())
}

// MARK: 5. Black-and-white pages in PDF: Flate (the stored PNG) vs CCITT G4 vs JBIG2
if wants("bw-pdf") {
    // Text-like BW pages: the generated page's text part, thresholded, with the photo area left
    // white (a thresholded photo is noise, not a document).
    var table = ResultTable(title: "A4 300 dpi text-like BW page in a PDF: bytes and encode time (single thread, best of 5, 3 pages)",
                            columns: ["image data", "bytes a page (mean)", "vs Flate", "encode ms a page (mean)"])
    var pages: [Image] = []
    for seed in 0..<3 {
        var page = makePage(dpi: 300, seed: UInt64(40 + seed)).converted(to: .gray8).thresholded()
        for y in page.height * 62 / 100..<page.height { for i in 0..<page.rowBytes { page.pixels[y * page.stride + i] = 0 } }
        pages.append(page)
    }
    let encoders: [(String, (Image) throws -> Int)] = [
        ("Flate: the stored 1-bit PNG's IDAT as it is, zlib level 3 (compression 3; the PNG encode timed)",
         { try PDFPageImage(passingThrough: try StoredForm.encode($0).bytes)!.byteCount }),
        ("Flate at zlib level 6 from the pixels (the PDF writer's own Flate)", { try PDFPageImage($0, compression: .flate).byteCount }),
        ("CCITT G4, libtiff (automatic compression, and 2)", { try PDFPageImage($0, compression: .ccittG4).byteCount }),
        ("JBIG2 generic region, ScanBridge's encoder (compression 7)", { try PDFPageImage($0, compression: .jbig2).byteCount }),
    ]
    var flate = 0.0
    for (name, encode) in encoders {
        var bytes = 0.0, seconds = 0.0
        for page in pages {
            var size = 0
            seconds += try Measurement.run(runs: 5) { size = try encode(page) }.best
            bytes += Double(size)
        }
        bytes /= Double(pages.count); seconds /= Double(pages.count)
        if flate == 0 { flate = bytes }
        table.add([name, format(bytes, digits: 0), format(bytes / flate * 100, digits: 0) + " %", format(seconds * 1000, digits: 1)])
    }
    print(table.render())
}

if wants("thumbnail-bw") {
    // A BW page's thumbnail source counted from the bits against the whole page expanded to a
    // byte a pixel and then block-averaged: the scan pipeline makes one per page.
    // Under the service's allocation policy (every block of 1 MiB or more its own mmap, returned
    // when freed: see MemoryPolicy), so that each page's buffers are fresh memory as in the service.
    // Last of the sections: the policy stays for the rest of the process.
    MemoryPolicy.returnLargeAllocationsToSystem()
    var bwThumbnail = ResultTable(title: "Thumbnail source of an A4 300 dpi BW page, box 240 (single thread, best of 9)",
                                  columns: ["path", "ms a page", "pages/s"])
    for expandFirst in [false, true] {
        let best = Measurement.run(runs: 9) {
            _ = ThumbnailSource(of: expandFirst ? bw.converted(to: .gray8) : bw, maxWidth: 240, maxHeight: 240)
        }.best
        bwThumbnail.add([expandFirst ? "bw1 expanded to gray8, then block-averaged" : "bw1 black bits counted per block",
                         format(best * 1000, digits: 2), format(1 / best, digits: 0)])
    }
    print(bwThumbnail.render())
}

print("Load average at end: \(loadAverage())")
