// imaging-bench: ScanBridgeImaging against references doing the same work the same way, in the
// same process and run: the raw TurboJPEG/libpng/libtiff calls, libvips through its C API,
// img2pdf through its Python API in a warm interpreter. Ours and the reference take turns,
// IMAGING_BENCH_ROUNDS rounds (default 7) after a warm-up; each row reports medians and the
// spread, and the run is written as JSON (BenchmarkRecord).
//
//   imaging-bench [codecs] [resize] [pipeline] [pdf] [bw-pdf] [thumbnail-bw]     (default: all)
import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import ScanBridgeImaging
import ScanBridgeStorage

let rounds = Int(ProcessInfo.processInfo.environment["IMAGING_BENCH_ROUNDS"] ?? "") ?? 7
var record = BenchmarkRecord(benchmark: "imaging-bench", rounds: rounds)

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-bench-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
@MainActor func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

let cores = ProcessInfo.processInfo.activeProcessorCount
let colour = makePage()
let gray = colour.converted(to: .gray8)
let bw = gray.thresholded()
let raw = RawLibraryCalls(maxBytes: colour.pixels.count * 2)
let colourJPEG = try JPEGCodec.encode(colour, quality: 85)
/// Sections to run: all, or those named on the command line.
let requested = Set(CommandLine.arguments.dropFirst())
func wants(_ section: String) -> Bool { requested.isEmpty || requested.contains(section) }

/// One row of MP/s (or pages/s) from interleaved turns of `contenders`, each timed per call.
@MainActor func rateRow(_ table: inout BenchmarkRecord.Table, id: String, label: String, unit: String, amount: Double,
                        _ contenders: [(name: String, body: () throws -> Void)]) throws {
    let samples = try Interleaved.run(rounds: rounds, contenders.map { contender in
        (name: contender.name, body: { try Interleaved.seconds(contender.body) })
    })
    table.add(id: id, label: label, unit: unit, samples.mapValues { $0.rate(amount) })
}

// MARK: 1. Codecs vs raw library calls
if wants("codecs") {
    var table = BenchmarkRecord.Table(id: "codecs", title: "Codecs vs the raw library call (single thread, A4 300 dpi)",
                                      contenders: ["ScanBridge", "raw call"], ours: "ScanBridge")
    @MainActor func codec(_ id: String, _ label: String, _ image: Image, ours: @escaping () throws -> Void, raw rawCall: (() -> Void)?) throws {
        var contenders: [(name: String, body: () throws -> Void)] = [("ScanBridge", ours)]
        if let rawCall { contenders.append(("raw call", rawCall)) }
        try rateRow(&table, id: id, label: label, unit: "MP/s", amount: megapixels(image), contenders)
    }
    let grayPNG = try PNGCodec.encode(gray, compressionLevel: 1)
    let colourPNG = try PNGCodec.encode(colour, compressionLevel: 1)
    try codec("jpeg-encode-colour", "JPEG encode colour q85 4:2:0", colour, ours: { _ = try JPEGCodec.encode(colour, quality: 85) },
              raw: { _ = raw.jpegEncode(colour, quality: 85, subsampling: .s420) })
    try codec("jpeg-encode-gray", "JPEG encode gray q85", gray, ours: { _ = try JPEGCodec.encode(gray, quality: 85) },
              raw: { _ = raw.jpegEncode(gray, quality: 85, subsampling: .gray) })
    try codec("jpeg-decode-colour", "JPEG decode colour", colour, ours: { _ = try JPEGCodec.decode(colourJPEG) },
              raw: { raw.jpegDecode(colourJPEG, width: colour.width, height: colour.height, gray: false) })
    try codec("jpeg-decode-colour-8", "JPEG decode colour at 1/8 (DCT-scaled)", colour, ours: { _ = try JPEGCodec.decode(colourJPEG, scaleDenominator: 8) },
              raw: { raw.jpegDecode(colourJPEG, width: (colour.width + 7) / 8, height: (colour.height + 7) / 8, gray: false) })
    try codec("png-encode-gray", "PNG encode gray level 1, fast filters", gray, ours: { _ = try PNGCodec.encode(gray, compressionLevel: 1) },
              raw: { _ = raw.pngEncode(gray, level: 1, filters: .fast) })
    try codec("png-encode-colour", "PNG encode colour level 1, fast filters", colour, ours: { _ = try PNGCodec.encode(colour, compressionLevel: 1) },
              raw: { _ = raw.pngEncode(colour, level: 1, filters: .fast) })
    try codec("png-encode-bw", "PNG encode bw1 level 6", bw, ours: { _ = try PNGCodec.encode(bw, compressionLevel: 6) },
              raw: { _ = raw.pngEncode(bw, level: 6, filters: .none) })
    try codec("png-decode-gray", "PNG decode gray", gray, ours: { _ = try PNGCodec.decode(grayPNG) }, raw: { raw.pngDecode(grayPNG, color: false) })
    try codec("png-decode-colour", "PNG decode colour", colour, ours: { _ = try PNGCodec.decode(colourPNG) }, raw: { raw.pngDecode(colourPNG, color: true) })
    var grayCopy = gray, bwCopy = bw
    try codec("tiff-lzw-encode-gray", "TIFF LZW encode gray", gray, ours: { _ = try TIFFCodec.encode(gray, compression: .lzw) },
              raw: { _ = raw.tiffEncode(&grayCopy, compression: .lzw) })
    try codec("tiff-g4-encode-bw", "TIFF CCITT G4 encode bw1", bw, ours: { _ = try TIFFCodec.encode(bw, compression: .ccittG4) },
              raw: { _ = raw.tiffEncode(&bwCopy, compression: .ccittG4) })
    let grayTIFF = try TIFFCodec.encode(gray, compression: .lzw)
    try codec("tiff-lzw-decode-gray", "TIFF LZW decode gray", gray, ours: { _ = try TIFFCodec.decode(grayTIFF) }, raw: nil)
    let colourBMP = try BMPCodec.encode(colour)
    try codec("bmp-encode-colour", "BMP encode colour (own code)", colour, ours: { _ = try BMPCodec.encode(colour) }, raw: nil)
    try codec("bmp-decode-colour", "BMP decode colour (own code)", colour, ours: { _ = try BMPCodec.decode(colourBMP) }, raw: nil)
    record.tables.append(table)
}

// MARK: 2. Resize and thumbnail vs libvips in-process
if wants("resize") {
    // One thread each: ours resizes on the calling thread.
    try VipsReference.start(threads: 1)
    var table = BenchmarkRecord.Table(id: "resize", title: "Resize and thumbnail vs libvips \(VipsReference.version) through its C API (one thread each)",
                                      contenders: ["ScanBridge", "libvips"], ours: "ScanBridge")
    for (name, image) in [("gray", gray), ("colour", colour)] {
        for factor in [4, 2] {
            let w = image.width / factor, h = image.height / factor
            try rateRow(&table, id: "shrink-\(name)-\(factor)", label: "A4 \(name) page area-averaged to 1/\(factor) (libvips: vips_shrink)",
                        unit: "MP/s", amount: megapixels(image), [
                            ("ScanBridge", { _ = image.resized(width: w, height: h) }),
                            ("libvips", { _ = try VipsReference.shrink(image, factor: factor) }),
                        ])
            // libvips rounds after its horizontal pass and again after the vertical; ours rounds
            // each block's exact mean once.
            let vips = try VipsReference.shrunkPixels(image, factor: factor), ours = image.resized(width: w, height: h).pixels
            guard ours.count == vips.count else { throw VipsReference.Failure(description: "shrink \(name) 1/\(factor): \(ours.count) bytes, libvips \(vips.count)") }
            let differences = zip(ours, vips).map { abs(Int($0) - Int($1)) }
            record.notes.append("shrink \(name) 1/\(factor): \(format(100 * Double(differences.filter { $0 > 0 }.count) / Double(ours.count), digits: 1)) % of the samples differ from libvips's, by at most \(differences.max() ?? 0)")
        }
    }
    let files = 16
    let names = try (0..<files).map { i in
        let name = path("thumbsource\(i).jpg")
        try Data(colourJPEG).write(to: URL(fileURLWithPath: name))
        return name
    }
    try rateRow(&table, id: "thumbnail-jpeg-files", label: "thumbnail ≤200 px of \(files) A4 colour JPEG files (read, DCT-scaled decode, fit, JPEG q75, write)",
                unit: "MP/s", amount: megapixels(colour) * Double(files), [
                    ("ScanBridge", {
                        for (i, name) in names.enumerated() {
                            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: name)))
                            let small = try JPEGCodec.decode(bytes, atLeastWidth: 200, height: 200).fitted(maxWidth: 200, maxHeight: 200)
                            try Data(try JPEGCodec.encode(small, quality: 75)).write(to: URL(fileURLWithPath: path("thumb\(i).jpg")))
                        }
                    }),
                    ("libvips", {
                        for (i, name) in names.enumerated() { try VipsReference.thumbnail(name, box: 200, to: path("vthumb\(i).jpg")) }
                    }),
                ])
    record.tables.append(table)
}

// MARK: 3. Pipeline pages/s against the raw encoder on every core
if wants("pipeline") {
    let pageCount = 4 * cores
    var table = BenchmarkRecord.Table(id: "pipeline", title: "Pipeline: \(pageCount) A4 300 dpi pages through parallelMap on the compute pool (\(cores) threads) vs the raw encoder on \(cores) threads at once",
                                      contenders: ["pipeline", "raw encoder, every core"], ours: "pipeline")
    /// The raw encoder on `cores` threads at once, each with its own handle: `count` pages' seconds.
    func rawParallel(_ page: Image, count: Int, _ encode: @escaping @Sendable (RawLibraryCalls, Image) -> Void) -> Double {
        Interleaved.seconds {
            DispatchQueue.concurrentPerform(iterations: cores) { _ in
                let calls = RawLibraryCalls(maxBytes: page.pixels.count * 2)
                for _ in 0..<count / cores { encode(calls, page) }
            }
        }
    }
    @MainActor func pagesStream(_ page: Image, _ count: Int) -> AsyncStream<Image> {
        AsyncStream { continuation in
            for _ in 0..<count { continuation.yield(page) }
            continuation.finish()
        }
    }
    @MainActor func pipelineSeconds(_ page: Image, _ encode: @escaping @Sendable (Image) throws -> Int) async throws -> Double {
        try await Interleaved.seconds {
            var total = 0
            for try await size in pagesStream(page, pageCount).parallelMap(encode) { total += size }
            precondition(total > 0)
        }
    }
    let amount = Double(pageCount / cores * cores)
    for (name, page, subsampling) in [("colour", colour, JPEGCodec.Subsampling.s420), ("gray", gray, .gray)] {
        let samples = try await Interleaved.run(rounds: rounds, [
            (name: "pipeline", body: { try await pipelineSeconds(page) { try JPEGCodec.encode($0, quality: 85).count } }),
            (name: "raw encoder, every core", body: { rawParallel(page, count: pageCount) { _ = $0.jpegEncode($1, quality: 85, subsampling: subsampling) } }),
        ])
        table.add(id: "jpeg-\(name)", label: "\(name), JPEG q85", unit: "pages/s", samples.mapValues { $0.rate(amount) })
    }
    let bwSamples = try await Interleaved.run(rounds: rounds, [
        (name: "pipeline", body: { try await pipelineSeconds(bw) { try StoredForm.encode($0).bytes.count } }),
        (name: "raw encoder, every core", body: { rawParallel(bw, count: pageCount) { _ = $0.pngEncode($1, level: 3, filters: .none) } }),
    ])
    table.add(id: "png-bw", label: "BW, stored form (PNG 1-bit level 3)", unit: "pages/s", bwSamples.mapValues { $0.rate(amount) })
    let g4Samples = try await Interleaved.run(rounds: rounds, [
        (name: "pipeline", body: { try await pipelineSeconds(bw) { try TIFFCodec.encode($0, compression: .ccittG4).count } }),
        (name: "raw encoder, every core", body: { rawParallel(bw, count: pageCount) { calls, page in var copy = page; _ = calls.tiffEncode(&copy, compression: .ccittG4) } }),
    ])
    table.add(id: "g4-bw", label: "BW, TIFF CCITT G4", unit: "pages/s", g4Samples.mapValues { $0.rate(amount) })
    record.tables.append(table)

    // The stage a scan job runs between scanner and buffer (stored form + thumbnail source) on the
    // pool, against the stored form's raw encode alone on every core: what the rest costs.
    var stages = BenchmarkRecord.Table(id: "scan-pipeline", title: "Scan pipeline (ScanPipeline: stored form + thumbnail source), \(pageCount) A4 300 dpi pages, \(cores) pool threads, vs the stored form's raw encode alone × \(cores) threads",
                                       contenders: ["scanPipeline", "raw stored-form encode, every core"], ours: "scanPipeline")
    for (name, page) in [("colour", colour), ("gray", gray), ("bw", bw)] {
        let samples = try await Interleaved.run(rounds: rounds, [
            (name: "scanPipeline", body: {
                try await Interleaved.seconds {
                    for try await (_, products) in pagesStream(page, pageCount).scanPipeline(image: { $0 }) { precondition(products.storedForm != nil) }
                }
            }),
            (name: "raw stored-form encode, every core", body: {
                rawParallel(page, count: pageCount) { calls, page in
                    if page.format == .bw1 {
                        _ = calls.pngEncode(page, level: 3, filters: .none)
                    } else {
                        _ = calls.jpegEncode(page, quality: 85, subsampling: page.format == .gray8 ? .gray : .s420)
                    }
                }
            }),
        ])
        stages.add(id: name, label: name, unit: "pages/s", samples.mapValues { $0.rate(amount) })
    }
    record.tables.append(stages)
}

// MARK: 4. 100-page PDF from JPEG files vs img2pdf's Python API in a warm interpreter
if wants("pdf") {
    let pdfPages = 100
    for i in 0..<4 {
        let page = makePage(dpi: 200, seed: UInt64(10 + i))
        try Data(try JPEGCodec.encode(page, quality: 85)).write(to: URL(fileURLWithPath: path("p\(i).jpg")))
    }
    let jpegFiles = try (0..<pdfPages).map { i in
        let file = path(String(format: "page%03d.jpg", i))
        try? FileManager.default.removeItem(atPath: file)
        try FileManager.default.copyItem(atPath: path("p\(i % 4).jpg"), toPath: file)
        return file
    }
    let worker = try Img2PDFWorker()
    defer { worker.stop() }
    var table = BenchmarkRecord.Table(id: "pdf", title: "\(pdfPages)-page PDF from A4 200 dpi JPEG files (in the page cache), img2pdf \(worker.version) through its Python API in a warm interpreter",
                                      contenders: ["ScanBridge PDFWriter", "img2pdf"], ours: "ScanBridge PDFWriter")
    try rateRow(&table, id: "pdf-100-jpeg", label: "\(pdfPages) JPEG pages → PDF file", unit: "pages/s", amount: Double(pdfPages), [
        ("ScanBridge PDFWriter", {
            let writer = try PDFWriter(path: path("ours.pdf"))
            for file in jpegFiles { try writer.addPage(jpeg: [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))) }
            try writer.finish()
        }),
        ("img2pdf", { try worker.convert(jpegFiles, to: path("img2pdf.pdf")) }),
    ])
    let check = Process()
    check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    check.arguments = ["qpdf", "--check", path("ours.pdf")]
    check.standardOutput = FileHandle.nullDevice
    try check.run()
    check.waitUntilExit()
    let sizes = [path("ours.pdf"), path("img2pdf.pdf")].map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
    record.notes.append("PDF: qpdf --check \(check.terminationStatus == 0 ? "passes" : "FAILS") on ours; \(format(Double(sizes[0]) / 1e6)) MB ours, \(format(Double(sizes[1]) / 1e6)) MB img2pdf")
    record.tables.append(table)
}

// MARK: 5. Black-and-white pages in a PDF: CCITT G4 (automatic compression) against the Flate data
// it replaced, the writer's own Flate, and JBIG2
if wants("bw-pdf") {
    // Text-like BW pages: the generated page's text part, thresholded, with the photo area left
    // white (a thresholded photo is noise, not a document).
    let pages: [Image] = (0..<3).map { seed in
        var page = makePage(dpi: 300, seed: UInt64(40 + seed)).converted(to: .gray8).thresholded()
        for y in page.height * 62 / 100..<page.height { for i in 0..<page.rowBytes { page.pixels[y * page.stride + i] = 0 } }
        return page
    }
    let g4 = "CCITT G4 (libtiff)"
    let encoders: [(name: String, encode: (Image) throws -> Int)] = [
        (g4, { try PDFPageImage($0, compression: .ccittG4).byteCount }),
        ("Flate: stored PNG", { try PDFPageImage(passingThrough: try StoredForm.encode($0).bytes)!.byteCount }),
        ("Flate level 6", { try PDFPageImage($0, compression: .flate).byteCount }),
        ("JBIG2 (ours)", { try PDFPageImage($0, compression: .jbig2).byteCount }),
    ]
    let title = "A4 300 dpi text-like BW page in a PDF (3 pages, single thread): automatic compression's G4 against the others"
    var bytes = BenchmarkRecord.Table(id: "bw-pdf-bytes", title: title + ", bytes a page", higherIsBetter: false,
                                      contenders: encoders.map(\.name), ours: g4)
    var time = BenchmarkRecord.Table(id: "bw-pdf-time", title: title + ", encode ms a page", higherIsBetter: false,
                                     contenders: encoders.map(\.name), ours: g4)
    var sizes: [String: [Double]] = [:]
    let samples = try Interleaved.run(rounds: rounds, encoders.map { encoder in
        (name: encoder.name, body: {
            var total = 0
            let seconds = try Interleaved.seconds { total = try pages.reduce(0) { $0 + (try encoder.encode($1)) } }
            sizes[encoder.name, default: []].append(Double(total) / Double(pages.count))
            return seconds * 1000 / Double(pages.count)
        })
    })
    bytes.add(id: "bw-pdf-bytes", label: "image data a page", unit: "bytes", sizes.mapValues(Samples.init))
    time.add(id: "bw-pdf-encode", label: "encode a page", unit: "ms", samples)
    record.tables.append(contentsOf: [bytes, time])
}

// MARK: 6. BW thumbnail source
if wants("thumbnail-bw") {
    // Under the service's allocation policy (every block of 1 MiB or more its own mmap, returned
    // when freed: see MemoryPolicy), so that each page's buffers are fresh memory as in the service.
    // Last of the sections: the policy stays for the rest of the process.
    MemoryPolicy.returnLargeAllocationsToSystem()
    var table = BenchmarkRecord.Table(id: "thumbnail-bw", title: "Thumbnail source of an A4 300 dpi BW page, box 240 (single thread)",
                                      contenders: ["black bits counted per block", "expanded to gray8, then block-averaged"],
                                      ours: "black bits counted per block")
    try rateRow(&table, id: "thumbnail-source-bw", label: "BW page → thumbnail source", unit: "pages/s", amount: 1, [
        ("black bits counted per block", { _ = ThumbnailSource(of: bw, maxWidth: 240, maxHeight: 240) }),
        ("expanded to gray8, then block-averaged", { _ = ThumbnailSource(of: bw.converted(to: .gray8), maxWidth: 240, maxHeight: 240) }),
    ])
    record.tables.append(table)
}

try record.finish()
