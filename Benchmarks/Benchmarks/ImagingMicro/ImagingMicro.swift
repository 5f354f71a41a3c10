// In-process micro-benchmarks of the imaging steps a scan job runs per page, each beside the bare
// library call it wraps, under ordo-one/benchmark (`make bench-micro`): it stores a run as
// static thresholds (`make bench-micro-baseline`, Benchmarks/Thresholds/) and checks later runs
// against them (`make bench-micro-check`). CPU time may move 15 % from the stored figure (at the
// median and the 90th percentile); allocations are counted exactly and may not grow by more than 2 a call, so a copy
// that creeps into a codec fails the check on any machine, loaded or not.
import Benchmark
@_spi(Benchmarks) import ScanBridgeImaging

/// An A4 page at 300 dpi with paper noise, dark strokes and a gradient: deterministic, and
/// neither blank nor random (encoders behave as on a scan).
func syntheticPage() -> Image {
    let width = 2480, height = 3508
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    var state: UInt32 = 2_463_534_242
    for y in 0..<height {
        for x in 0..<width {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            let ink = (y / 40) % 3 == 0 && (x / 7 + y / 11) % 9 < 2
            let base = y > height * 2 / 3 ? UInt8(truncatingIfNeeded: (x + y) / 24) : (ink ? 30 : 236)
            let value = base &+ UInt8(truncatingIfNeeded: state & 15)
            let i = 3 * (y * width + x)
            pixels[i] = value; pixels[i + 1] = value; pixels[i + 2] = value &- 4
        }
    }
    return Image(width: width, height: height, format: .rgb24, xDPI: 300, yDPI: 300, pixels: pixels)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        // CPU time, not wall clock: the machines these run on are shared.
        metrics: [.cpuTotal, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 30,
        thresholds: [
            // `thresholds check` compares the stored p90 with the run's p90.
            .cpuTotal: .init(relative: [.p50: 15.0, .p90: 15.0]),
            .mallocCountTotal: .init(absolute: [.p50: 2, .p90: 2]),
        ]
    )
    let colour = syntheticPage()
    let gray = colour.converted(to: .gray8)
    let bw = gray.thresholded()
    let raw = RawLibraryCalls(maxBytes: colour.pixels.count * 2)

    // Names without spaces: package-benchmark writes a threshold file under the name with its
    // spaces made underscores, but looks it up under the name as it is.
    Benchmark("JPEG_encode_colour_q85,_ScanBridge") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try JPEGCodec.encode(colour, quality: 85)) }
    }
    Benchmark("JPEG_encode_colour_q85,_raw_TurboJPEG") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(raw.jpegEncode(colour, quality: 85, subsampling: .s420)) }
    }
    Benchmark("JPEG_encode_gray_q85,_ScanBridge") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try JPEGCodec.encode(gray, quality: 85)) }
    }
    Benchmark("JPEG_encode_gray_q85,_raw_TurboJPEG") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(raw.jpegEncode(gray, quality: 85, subsampling: .gray)) }
    }
    Benchmark("BW_stored_form_(PNG_level_3),_ScanBridge") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try StoredForm.encode(bw)) }
    }
    Benchmark("BW_PNG_level_3,_raw_libpng") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(raw.pngEncode(bw, level: 3, filters: .none)) }
    }
    Benchmark("BW_CCITT_G4,_ScanBridge") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try TIFFCodec.encode(bw, compression: .ccittG4)) }
    }
    Benchmark("BW_CCITT_G4,_raw_libtiff") { benchmark in
        var copy = bw
        for _ in benchmark.scaledIterations { blackHole(raw.tiffEncode(&copy, compression: .ccittG4)) }
    }
    // The thumbnail source of each page alone (blocks of 4 for A4 at 300 dpi): the scan
    // pipeline's second pass over every page.
    for (name, page) in [("colour", colour), ("gray", gray), ("BW", bw)] {
        Benchmark("Thumbnail_source,_\(name)_page") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(ThumbnailSource(of: page, maxWidth: ScanPipeline.thumbnailSourceBox, maxHeight: ScanPipeline.thumbnailSourceBox))
            }
        }
    }
    Benchmark("Scan_pipeline_products,_colour_page") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ScanPipeline.products(of: colour)) }
    }
    Benchmark("Scan_pipeline_products,_BW_page") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ScanPipeline.products(of: bw)) }
    }
}
