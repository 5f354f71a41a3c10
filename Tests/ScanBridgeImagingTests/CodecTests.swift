import Foundation
import ScanBridgeCore
import Testing
@testable import ScanBridgeImaging

@Suite("Codecs")
struct CodecTests {
    @Test(arguments: [PixelFormat.gray8, .rgb24])
    func jpegRoundTripWithinTolerance(format: PixelFormat) throws {
        let page = TestPage.make(format: format, dpi: 150)
        for subsampling in [JPEGCodec.Subsampling.s444, .s420] {
            let bytes = try JPEGCodec.encode(page, quality: 90, subsampling: subsampling)
            #expect(ImageFileFormat(detecting: bytes) == .jpeg)
            let decoded = try JPEGCodec.decode(bytes)
            #expect(decoded.format == format)
            #expect(decoded.width == page.width && decoded.height == page.height)
            #expect(decoded.xDPI == 150)
            // Stated tolerance: PSNR ≥ 28 dB at quality 90 on noisy text+photo content.
            #expect(psnr(decoded, page) >= 28, "PSNR \(psnr(decoded, page))")
        }
    }

    @Test func jpegQualityChangesSizeAndGraySubsamplingMakesGray() throws {
        let page = TestPage.make()
        let small = try JPEGCodec.encode(page, quality: 30)
        let big = try JPEGCodec.encode(page, quality: 95)
        #expect(small.count < big.count)
        let gray = try JPEGCodec.decode(try JPEGCodec.encode(page, subsampling: .gray))
        #expect(gray.format == .gray8)
        #expect(try JPEGInfo(big).components == 3)
    }

    @Test func jpegEncodesIntoAReusedBufferGiveTheSameBytes() throws {
        let output = JPEGOutputBuffer()
        // Small, larger (the buffer grows), small again (it is reused), gray.
        let pages = [TestPage.make(width: 120, height: 90, seed: 31), TestPage.make(width: 803, height: 1001, seed: 32),
                     TestPage.make(width: 120, height: 90, seed: 33), TestPage.make(width: 640, height: 480, format: .gray8, seed: 34)]
        for page in pages {
            #expect(try JPEGCodec.encode(page, quality: 85, output: output) == JPEGCodec.encode(page, quality: 85))
        }
    }

    @Test func jpegsCopiedOutIntoRecycledArraysReuseAPageThatIsGoneNeverOneInUse() throws {
        let pool = ByteArrayPool(name: "sb-test-jpegs", minimumBytes: 1024, maxBytes: 64 << 20, idleRelease: .seconds(60))
        let output = JPEGOutputBuffer(recycling: pool)
        let first = TestPage.make(width: 803, height: 1001, seed: 41), second = TestPage.make(width: 803, height: 1001, seed: 42)
        var kept: [UInt8]? = try JPEGCodec.encode(first, quality: 85, output: output)
        let firstReference = try JPEGCodec.encode(first, quality: 85)
        #expect(kept == firstReference)
        #expect(pool.holding.buffers == 1)
        // The first page still holds its JPEG: the second gets an array of its own.
        let other = try JPEGCodec.encode(second, quality: 85, output: output)
        #expect(pool.counters.reused == 0)
        #expect(kept == firstReference, "the kept JPEG is untouched")
        let address = kept!.withUnsafeBytes { $0.baseAddress! }
        kept = nil
        let again = try JPEGCodec.encode(second, quality: 85, output: output)
        #expect(pool.counters.reused == 1)
        #expect(again.withUnsafeBytes { $0.baseAddress! } == address, "the gone page's array was reused")
        let reference = try JPEGCodec.encode(second, quality: 85)
        #expect(again == other && again == reference)
    }

    @Test func jpegScaledDecodeForThumbnails() throws {
        let page = TestPage.make(width: 803, height: 1001)
        let bytes = try JPEGCodec.encode(page, quality: 85)
        for denominator in [2, 4, 8] {
            let scaled = try JPEGCodec.decode(bytes, scaleDenominator: denominator)
            #expect(scaled.width == (803 + denominator - 1) / denominator)
            #expect(scaled.height == (1001 + denominator - 1) / denominator)
            // Same picture, smaller: compare against an area-averaged reduction of the source.
            let reference = page.resized(width: scaled.width, height: scaled.height)
            #expect(psnr(scaled, reference) > 20, "1/\(denominator): PSNR \(psnr(scaled, reference))")
        }
        let thumbnailSource = try JPEGCodec.decode(bytes, atLeastWidth: 150, height: 150)
        // 1/8 would be 126 px high (< 150), so 1/4 is the smallest usable scale.
        #expect(thumbnailSource.width == 201)
        #expect(thumbnailSource.height >= 150)
    }

    @Test func jpegRejectsBadInput() throws {
        #expect(throws: ScanBridgeError.self) { try JPEGCodec.decode([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]) }
        var truncated = try JPEGCodec.encode(TestPage.make(width: 200, height: 200))
        truncated.removeLast(truncated.count / 2)
        #expect(throws: ScanBridgeError.self) { try JPEGCodec.decode(truncated) }
        #expect(throws: ScanBridgeError.self) { try JPEGCodec.encode(TestPage.make(width: 20, height: 20), quality: 0) }
    }

    @Test(arguments: PixelFormat.allCases)
    func pngRoundTripsExactly(format: PixelFormat) throws {
        let page = format.bitsPerSample == 16 ? TestPage.make16(format: format) : TestPage.make(width: 333, height: 457, format: format, dpi: 300)
        for level in [1, 6] {
            let bytes = try PNGCodec.encode(page, compressionLevel: level)
            #expect(ImageFileFormat(detecting: bytes) == .png)
            let decoded = try PNGCodec.decode(bytes)
            #expect(Bool(samePixels(decoded, page)), "\(format) level \(level)")
            #expect(abs(decoded.xDPI - page.xDPI) < 0.1)
        }
    }

    @Test func pngRejectsCorruptData() throws {
        var bytes = try PNGCodec.encode(TestPage.make(width: 100, height: 100))
        bytes[bytes.count / 2] ^= 0xFF   // inside IDAT: CRC and zlib errors
        #expect(throws: ScanBridgeError.self) { try PNGCodec.decode(bytes) }
        #expect(throws: ScanBridgeError.self) { try PNGCodec.decode(Array(bytes.prefix(40))) }
        #expect(throws: ScanBridgeError.self) { try PNGCodec.decode([1, 2, 3]) }
        // A header claiming 100000 × 100000 pixels is refused before any allocation.
        var huge = try PNGCodec.encode(TestPage.make(width: 16, height: 16))
        for (offset, value) in [(16, 100_000), (20, 100_000)] {
            huge[offset] = UInt8(value >> 24); huge[offset + 1] = UInt8((value >> 16) & 0xFF); huge[offset + 2] = UInt8((value >> 8) & 0xFF); huge[offset + 3] = UInt8(value & 0xFF)
        }
        #expect(throws: ScanBridgeError.self) { try PNGCodec.decode(huge) }
        #expect(throws: ScanBridgeError.self) { try PNGCodec.encode(TestPage.make(width: 10, height: 10), compressionLevel: 12) }
    }

    @Test func aLibpngErrorInTheLowLevelReadIsAThrownErrorWithItsMessage() throws {
        // The low-level 16-bit read on data that ends early and on data that is no PNG: libpng's
        // error callback jumps back inside the C sequence, and the codec throws its message.
        let page = TestPage.make16(format: .gray16)
        let bytes = try PNGCodec.encode(page)
        for broken in [Array(bytes.prefix(bytes.count / 2)), [UInt8](repeating: 7, count: 64)] {
            let error = #expect(throws: ScanBridgeError.self) {
                try PNGCodec.decodeSixteenBit(broken, width: page.width, height: page.height, color: false, xDPI: 300, yDPI: 300)
            }
            #expect(error?.description.contains("libpng decode") == true)
        }
        let whole = try PNGCodec.decodeSixteenBit(bytes, width: page.width, height: page.height, color: false, xDPI: 300, yDPI: 300)
        #expect(whole.pixels == page.pixels)
    }

    @Test(arguments: PixelFormat.allCases)
    func bmpRoundTrips(format: PixelFormat) throws {
        let page = TestPage.make(width: 123, height: 77, format: format, dpi: 200)
        let decoded = try BMPCodec.decode(try BMPCodec.encode(page))
        let expected = format == .gray16 ? page.converted(to: .gray8) : (format == .rgb48 ? page.converted(to: .rgb24) : page)
        #expect(Bool(samePixels(decoded, expected)))
        #expect(abs(decoded.xDPI - 200) < 0.1)
        #expect(throws: ScanBridgeError.self) { try BMPCodec.decode(Array(try BMPCodec.encode(page).prefix(100))) }
    }

    static let losslessTIFF: [TIFFCompression] = [.none, .packBits, .lzw, .deflate(level: 6)]

    @Test func tiffRoundTripsEveryFormatAndLosslessCompression() throws {
        for format in PixelFormat.allCases {
            let page = format.bitsPerSample == 16 ? TestPage.make16(format: format) : TestPage.make(width: 301, height: 211, format: format, dpi: 300)
            for compression in Self.losslessTIFF {
                let decoded = try TIFFCodec.decode(try TIFFCodec.encode(page, compression: compression))
                #expect(decoded.count == 1)
                #expect(Bool(samePixels(decoded[0], page)), "\(format) \(compression)")
                #expect(decoded[0].xDPI == page.xDPI)
            }
        }
        let bw = TestPage.make(width: 301, height: 211, format: .bw1)
        for compression in [TIFFCompression.ccittG3, .ccittG4] {
            #expect(Bool(samePixels(try TIFFCodec.decodeFirstPage(try TIFFCodec.encode(bw, compression: compression)), bw)))
        }
        let colour = TestPage.make(width: 301, height: 211)
        let jpeg = try TIFFCodec.decodeFirstPage(try TIFFCodec.encode(colour, compression: .jpeg(quality: 90)))
        #expect(jpeg.format == .rgb24)
        #expect(psnr(jpeg, colour) > 28)
        #expect(throws: ScanBridgeError.self) { try TIFFCodec.encode(colour, compression: .ccittG4) }
    }

    @Test func tiffMultiPagePassesTiffinfoAndTiffcp() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pages = [TestPage.make(width: 400, height: 300, format: .bw1, seed: 1),
                     TestPage.make(width: 300, height: 400, format: .gray8, seed: 2),
                     TestPage.make(width: 350, height: 350, format: .rgb24, seed: 3)]
        for compression in Self.losslessTIFF + [.jpeg(quality: 85), .ccittG3, .ccittG4] {
            let input = folder.appendingPathComponent("in.tif"), output = folder.appendingPathComponent("out.tif")
            let usable = compression == .ccittG4 || compression == .ccittG3 ? pages.map { $0.converted(to: .bw1) } : pages
            let writer = try TIFFWriter(path: input.path, compression: compression)
            for page in usable { try writer.add(page) }
            try writer.finish()
            let info = try runTool("tiffinfo", [input.path])
            #expect(info.status == 0, "\(compression): \(info.errors)")
            #expect(String(decoding: info.output, as: UTF8.self).components(separatedBy: "TIFF Directory").count - 1 == 3)
            #expect(!info.errors.lowercased().contains("error"))
            let copy = try runTool("tiffcp", [input.path, output.path])
            #expect(copy.status == 0, "\(copy.errors)")
            let original = try TIFFCodec.decode(try Data(contentsOf: input).bytes)
            let copied = try TIFFCodec.decode(try Data(contentsOf: output).bytes)
            #expect(copied.count == 3)
            for (a, b) in zip(original, copied) {
                if compression == .jpeg(quality: 85) {
                    // tiffcp decodes and re-encodes JPEG: a second generation, within tolerance.
                    #expect(psnr(a, b) > 30, "\(compression)")
                } else {
                    #expect(Bool(samePixels(a, b)), "\(compression)")
                }
            }
            if compression != .jpeg(quality: 85) {
                for (a, b) in zip(usable, original) { #expect(Bool(samePixels(a, b)), "\(compression)") }
            }
        }
    }

    @Test func tiffRejectsBadInput() throws {
        #expect(throws: ScanBridgeError.self) { try TIFFCodec.decode([0x49, 0x49, 0x2A, 0, 0xFF, 0xFF, 0xFF, 0x0F]) }
        #expect(throws: ScanBridgeError.self) { try TIFFCodec.decode(Array("hello world".utf8)) }
        var bytes = try TIFFCodec.encode(TestPage.make(width: 100, height: 100), compression: .lzw)
        bytes.removeLast(bytes.count - 300)
        #expect(throws: ScanBridgeError.self) { try TIFFCodec.decode(bytes) }
        #expect(throws: ScanBridgeError.self) { try TIFFWriter(compression: .deflate(level: 0)) }
    }

    @Test func decoderDetectsEveryFormat() throws {
        let page = TestPage.make(width: 64, height: 48)
        #expect(Bool(samePixels(try ImageDecoder.decode(try PNGCodec.encode(page)), page)))
        #expect(Bool(samePixels(try ImageDecoder.decode(try BMPCodec.encode(page)), page)))
        #expect(Bool(samePixels(try ImageDecoder.decode(try TIFFCodec.encode(page)), page)))
        #expect(try ImageDecoder.decode(try JPEGCodec.encode(page)).width == 64)
        #expect(throws: ScanBridgeError.self) { try ImageDecoder.decode([0, 1, 2, 3, 4, 5, 6, 7, 8]) }
    }
}
