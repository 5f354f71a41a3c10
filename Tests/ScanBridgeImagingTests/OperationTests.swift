import Foundation
import Testing
@testable import ScanBridgeImaging

@Suite("Operations")
struct OperationTests {
    static let formats = PixelFormat.allCases

    static func page(_ format: PixelFormat, width: Int = 97, height: Int = 61) -> Image {
        format.bitsPerSample == 16 ? TestPage.make16(format: format, width: width, height: height)
            : TestPage.make(width: width, height: height, format: format, dpi: 200)
    }

    @Test(arguments: formats)
    func quarterTurnsFlipsAndMirrors(format: PixelFormat) {
        var image = Self.page(format)
        image.xDPI = 200
        image.yDPI = 100
        let once = image.rotated(quarterTurns: 1)
        #expect(once.width == image.width && once.height == image.width || (once.width == image.height && once.height == image.width))
        #expect(once.xDPI == 100 && once.yDPI == 200)
        #expect(Bool(samePixels(once.rotated(quarterTurns: 1).rotated(quarterTurns: 1).rotated(quarterTurns: 1), image)))
        #expect(Bool(samePixels(image.rotated(quarterTurns: 2), image.flipped().mirrored())))
        #expect(Bool(samePixels(image.rotated(quarterTurns: -1), image.rotated(quarterTurns: 3))))
        #expect(Bool(samePixels(image.flipped().flipped(), image)))
        #expect(Bool(samePixels(image.mirrored().mirrored(), image)))
        #expect(Bool(samePixels(image.rotated(degrees: 90), once)))
    }

    @Test func quarterTurnMovesCornersClockwise() {
        // 3×2 gray image with distinct values: rotating clockwise puts the left column on top.
        let image = Image(width: 3, height: 2, format: .gray8, pixels: [1, 2, 3, 4, 5, 6])
        #expect(image.rotated(quarterTurns: 1).pixels == [4, 1, 5, 2, 6, 3])
        #expect(image.rotated(quarterTurns: 3).pixels == [3, 6, 2, 5, 1, 4])
        #expect(image.mirrored().pixels == [3, 2, 1, 6, 5, 4])
        #expect(image.flipped().pixels == [4, 5, 6, 1, 2, 3])
    }

    @Test(arguments: formats)
    func cropClipsAndKeepsPixels(format: PixelFormat) {
        let image = Self.page(format)
        let crop = image.cropped(to: PixelRect(x: 13, y: 7, width: 41, height: 30))
        #expect(crop.width == 41 && crop.height == 30)
        let expected = image.remapped(width: 41, height: 30) { x, y in (x + 13, y + 7) }
        #expect(Bool(samePixels(crop, expected)))
        let clipped = image.cropped(to: PixelRect(x: 90, y: 50, width: 100, height: 100))
        #expect(clipped.width == 7 && clipped.height == 11)
    }

    @Test func areaAveragingIsExactForWholeBlocks() {
        let image = Image(width: 4, height: 2, format: .gray8, pixels: [0, 100, 10, 20, 50, 250, 30, 40])
        let half = image.resized(width: 2, height: 1)
        #expect(half.pixels == [100, 25])   // (0+100+50+250)/4, (10+20+30+40)/4
        let page = TestPage.make(width: 600, height: 800, format: .gray8)
        let small = page.resized(width: 150, height: 200)
        let mean = { (i: Image) in Double(i.pixels.reduce(0) { $0 + Int($1) }) / Double(i.pixels.count) }
        #expect(abs(mean(small) - mean(page)) < 0.6)
        #expect(small.xDPI == page.xDPI / 4)
        // Non-integer factors keep the mean too.
        #expect(abs(mean(page.resized(width: 237, height: 311)) - mean(page)) < 0.6)
    }

    @Test(arguments: formats)
    func resizeEveryFormatBothWays(format: PixelFormat) {
        let image = Self.page(format)
        let down = image.resized(width: 40, height: 25)
        let up = image.resized(width: 250, height: 160)
        #expect(down.width == 40 && down.height == 25 && up.width == 250 && up.height == 160)
        #expect(down.format == (format == .bw1 ? .gray8 : format))
        // Up then down again returns close to the original (good-quality upsampling).
        if format == .gray8 || format == .rgb24 {
            let back = Self.page(format, width: 200, height: 120).resized(width: 400, height: 240).resized(width: 200, height: 120)
            #expect(psnr(back, Self.page(format, width: 200, height: 120)) > 28)
        }
    }

    @Test func fitIntoBoxKeepsAspect() {
        let image = TestPage.make(width: 2480 / 4, height: 3508 / 4)
        let fitted = image.fitted(maxWidth: 200, maxHeight: 200)
        #expect(fitted.height == 200 && fitted.width == 141)
        #expect(image.fitted(maxWidth: 5000, maxHeight: 5000).width == image.width)
        #expect(image.fitted(maxWidth: 1240, maxHeight: 5000, allowUpscale: true).width == 1240)
    }

    @Test(arguments: [PixelFormat.rgb24, .gray8, .bw1])
    func thumbnailsOfLargePagesMatchTheExactResize(format: PixelFormat) throws {
        // An A4 page at 300 dpi into the batch harness's 200 × 260 box: a shrink of 13×, so the
        // block pre-shrink runs (blocks of 4), then the exact pass.
        let page = TestPage.make(width: 2480, height: 3508, format: format, dpi: 300, seed: 4)
        let exact = page.fitted(maxWidth: 200, maxHeight: 260)
        let thumbnail = page.thumbnail(maxWidth: 200, maxHeight: 260)
        #expect(thumbnail.width == exact.width && thumbnail.height == exact.height && thumbnail.format == exact.format)
        #expect(psnr(thumbnail, exact) > 38, "the same picture as exact area averaging")
        #expect(abs(thumbnail.xDPI - exact.xDPI) < 0.01 && abs(thumbnail.yDPI - exact.yDPI) < 0.01)
        // A source made once for a larger box gives the same thumbnail; a box larger than it was
        // made for gets nil (the caller then reads the page).
        let source = ThumbnailSource(of: page, maxWidth: 320, maxHeight: 320)
        #expect(source.block == 3 && source.byteCount < page.byteCount / 4 || format == .bw1)
        let fromSource = try #require(source.thumbnail(maxWidth: 200, maxHeight: 260))
        #expect(fromSource.width == exact.width && fromSource.height == exact.height && fromSource.format == exact.format)
        #expect(psnr(fromSource, exact) > 38)
        #expect(source.thumbnail(maxWidth: 1200, maxHeight: 1200) == nil)
        // A small shrink or an enlargement is the exact resize itself.
        let small = TestPage.make(width: 300, height: 400, format: format, seed: 5)
        #expect(small.thumbnail(maxWidth: 200, maxHeight: 260) == small.fitted(maxWidth: 200, maxHeight: 260))
        #expect(small.thumbnail(maxWidth: 900, maxHeight: 900) == small.fitted(maxWidth: 900, maxHeight: 900))
    }

    @Test func blackAndWhiteToGrayByteWiseEqualsTheSixteenBitPath() {
        // An odd width: a last byte with 3 pixels and padding bits.
        let bw = TestPage.make(width: 1243, height: 300, format: .bw1, seed: 9)
        let fast = bw.converted(to: .gray8)
        #expect(fast == bw.converted(to: .gray16).converted(to: .gray8))
        #expect(fast.pixels.contains(0) && fast.pixels.contains(255))
    }

    @Test func blockAveragingIsTheRoundedMeanOfEachBlock() {
        // 5 × 2 gray: blocks of 2 give 2 × 1 pixels; the fifth column is left out.
        let gray = Image(width: 5, height: 2, format: .gray8, xDPI: 300, yDPI: 300, pixels: [0, 1, 10, 20, 99, 2, 2, 30, 41, 99])
        let averaged = gray.blockAveraged(2)
        #expect(averaged.width == 2 && averaged.height == 1 && averaged.pixels == [1, 25])
        #expect(averaged.xDPI == 150)
        let rgb = Image(width: 2, height: 2, format: .rgb24, xDPI: 300, yDPI: 300,
                        pixels: [255, 0, 10, 255, 0, 11, 255, 4, 10, 0, 0, 10])
        #expect(rgb.blockAveraged(2).pixels == [191, 1, 10])
        // The largest block: every sum rounds exactly as integer division does.
        var rng = SplitMix64(state: 3)
        let noisy = Image(width: 64, height: 32, format: .gray8, xDPI: 300, yDPI: 300, pixels: (0..<2048).map { _ in UInt8(rng.int(0..<256)) })
        let blocks = noisy.blockAveraged(16)
        for by in 0..<2 {
            for bx in 0..<4 {
                var sum = 0
                for y in 0..<16 { for x in 0..<16 { sum += Int(noisy.pixels[(by * 16 + y) * 64 + bx * 16 + x]) } }
                #expect(Int(blocks.pixels[by * 4 + bx]) == (sum + 128) / 256)
            }
        }
    }

    /// Each block's rounded mean by the plain loop over its pixels (BW: a set bit is black, 0).
    static func plainBlockMeans(_ image: Image, _ block: Int) -> [UInt8] {
        let channels = image.format == .bw1 ? 1 : image.format.channels
        func sample(_ x: Int, _ y: Int, _ channel: Int) -> Int {
            guard image.format == .bw1 else { return Int(image.pixels[y * image.stride + x * channels + channel]) }
            return image.pixels[y * image.stride + x / 8] & (0x80 >> UInt8(x % 8)) != 0 ? 0 : 255
        }
        var means: [UInt8] = []
        for by in 0..<(image.height / block) {
            for bx in 0..<(image.width / block) {
                for channel in 0..<channels {
                    var sum = 0
                    for y in 0..<block {
                        for x in 0..<block { sum += sample(bx * block + x, by * block + y, channel) }
                    }
                    means.append(UInt8((sum + block * block / 2) / (block * block)))
                }
            }
        }
        return means
    }

    @Test func blockAveragingMatchesThePlainMeanForEveryBlockAndLayout() {
        // Gray and colour, odd sizes (remainders left out), rows with bytes after the pixels;
        // widths that end inside and outside a vector step, and a row as wide as a page's.
        var rng = SplitMix64(state: 11)
        for (format, width, height, padding) in [(PixelFormat.rgb24, 97, 61, 0), (.rgb24, 50, 33, 5), (.gray8, 83, 47, 3), (.gray8, 16, 16, 0),
                                                 (.gray8, 2480, 18, 0), (.rgb24, 2483, 17, 1), (.gray8, 165, 40, 7), (.rgb24, 33, 35, 2)] {
            let stride = format.minimumStride(width: width) + padding
            let image = Image(width: width, height: height, format: format, stride: stride, xDPI: 300, yDPI: 300,
                              pixels: (0..<(stride * height)).map { _ in UInt8(rng.int(0..<256)) })
            for block in [2, 3, 4, 5, 6, 7, 8, 13, 16] where block <= min(width, height) {
                let averaged = image.blockAveraged(block)
                #expect(averaged.width == width / block && averaged.height == height / block)
                #expect(averaged.pixels == Self.plainBlockMeans(image, block), "\(format) \(width)×\(height)+\(padding), block \(block)")
            }
        }
        // Sums at their largest: all white, every block.
        let white = Image(width: 64, height: 48, format: .rgb24, xDPI: 300, yDPI: 300, pixels: [UInt8](repeating: 255, count: 64 * 48 * 3))
        for block in 2...16 { #expect(white.blockAveraged(block).pixels.allSatisfy { $0 == 255 }, "block \(block)") }
        // Smaller than a block: an empty image.
        let tiny = Image(width: 5, height: 3, format: .rgb24, xDPI: 300, yDPI: 300, pixels: [UInt8](repeating: 9, count: 45))
        for block in [2, 4, 8] {
            let averaged = tiny.blockAveraged(block)
            #expect(averaged.width == 5 / block && averaged.height == 3 / block && averaged.pixels.count == (5 / block) * (3 / block) * 3)
        }
    }

    @Test func blockMeanIsExactForEveryBlockAndSum() {
        for block in 1...16 {
            let divisor = block * block
            let sums = (0...(255 * divisor)).map { UInt16($0) }
            let expected = sums.map { UInt8((Int($0) + divisor / 2) / divisor) }
            let mean = BlockMean(block: block)
            #expect(sums.map { mean(UInt32($0)) } == expected, "block \(block), one at a time")
            var vectorised = [UInt8](repeating: 0, count: sums.count)
            sums.withUnsafeBufferPointer { sums in
                vectorised.withUnsafeMutableBufferPointer { mean.store(sums.baseAddress!, count: sums.count, into: $0.baseAddress!) }
            }
            #expect(vectorised == expected, "block \(block), eight at a time")
        }
    }

    @Test(arguments: [PixelFormat.gray8, .rgb24, .bw1])
    func shrinkingByAWholeFactorGivesEachBlocksExactMean(format: PixelFormat) {
        let page = TestPage.make(width: 240, height: 180, format: format, dpi: 300, seed: 31)
        for factor in [2, 3, 4, 5, 12] {
            let small = page.resized(width: 240 / factor, height: 180 / factor)
            #expect(small.format == (format == .bw1 ? .gray8 : format) && small.width == 240 / factor && small.height == 180 / factor)
            #expect(small.pixels == Self.plainBlockMeans(page, factor), "\(format), 1/\(factor)")
            #expect(small.xDPI == 300 / Double(factor) && small.yDPI == 300 / Double(factor))
        }
        // Different factors across and down take the float passes: still the mean, nearly.
        let uneven = page.resized(width: 120, height: 60)
        #expect(uneven.width == 120 && uneven.height == 60)
    }

    @Test func bwBlockAveragingFromBitsEqualsAveragingTheExpandedPage() {
        // Odd widths (a last byte with padding bits) and heights (a remainder of rows left out).
        for (width, height, seed) in [(1243, 400, 21), (75, 97, 22), (129, 180, 24), (16, 16, 26)] {
            let bw = TestPage.make(width: width, height: height, format: .bw1, seed: UInt64(seed))
            let expanded = bw.converted(to: .gray8)
            for block in [2, 3, 4, 7, 8, 13, 16] where block <= min(width, height) {
                #expect(bw.blockAveragedFromBits(block) == expanded.blockAveraged(block), "\(width)×\(height), block \(block)")
                #expect(bw.blockAveragedFromBits(block).pixels == Self.plainBlockMeans(bw, block), "\(width)×\(height), block \(block)")
            }
        }
        // Rows with bytes after the pixels (a wider stride), all bits set: they are not counted.
        let narrow = TestPage.make(width: 45, height: 30, format: .bw1, seed: 27)
        var padded: [UInt8] = []
        for y in 0..<30 { padded += narrow.pixels[y * narrow.stride..<(y + 1) * narrow.stride] + [0xFF, 0xFF, 0xFF] }
        let wide = Image(width: 45, height: 30, format: .bw1, stride: narrow.stride + 3, xDPI: narrow.xDPI, yDPI: narrow.yDPI, pixels: padded)
        for block in [2, 5, 15] {
            #expect(wide.blockAveragedFromBits(block) == narrow.converted(to: .gray8).blockAveraged(block), "block \(block)")
        }
        // All black and all white give exactly 0 and 255.
        let black = Image(width: 64, height: 32, format: .bw1, xDPI: 300, yDPI: 300, pixels: [UInt8](repeating: 0xFF, count: 8 * 32))
        #expect(black.blockAveragedFromBits(16).pixels == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Image(width: 64, height: 32, format: .bw1, xDPI: 300, yDPI: 300, pixels: [UInt8](repeating: 0, count: 8 * 32))
            .blockAveragedFromBits(3).pixels.allSatisfy { $0 == 255 })
        // A BW page's thumbnail source counts bits.
        let page = TestPage.make(width: 1240, height: 1754, format: .bw1, dpi: 150, seed: 25)
        let source = ThumbnailSource(of: page, maxWidth: 120, maxHeight: 120)
        #expect(source.block >= 2 && source.reduced == page.converted(to: .gray8).blockAveraged(source.block))
    }

    @Test func conversionsRoundTrip() {
        let rgb = TestPage.make(width: 120, height: 80)
        #expect(rgb.converted(to: .rgb48).converted(to: .rgb24) == rgb)
        let gray = rgb.grayscale()
        #expect(gray.format == .gray8)
        #expect(gray.converted(to: .gray16).converted(to: .gray8) == gray)
        let bw = gray.thresholded()
        #expect(bw.converted(to: .gray8).converted(to: .bw1, threshold: 127) == bw)
        #expect(rgb.converted(to: .rgb48).grayscale().format == .gray16)
        let pixel = Image(width: 1, height: 1, format: .rgb24, pixels: [200, 100, 50])
        let luma: Int = (77 * 200 + 150 * 100 + 29 * 50 + 128) >> 8
        #expect(pixel.grayscale().pixels == [UInt8(luma)])
    }

    @Test func otsuSplitsTwoModes() {
        var rng = SplitMix64(state: 3)
        var pixels = [UInt8]()
        for _ in 0..<5000 { pixels.append(UInt8(40 + rng.int(0..<30))) }
        for _ in 0..<15000 { pixels.append(UInt8(190 + rng.int(0..<40))) }
        let image = Image(width: 100, height: 200, format: .gray8, pixels: pixels)
        let t = image.otsuThreshold()
        #expect(t >= 69 && t < 190)
        let bw = image.thresholded()
        let black = bw.pixels.reduce(0) { $0 + $1.nonzeroBitCount }
        #expect(black == 5000)
    }

    @Test func brightnessContrastAndInvert() {
        let gray = TestPage.make(width: 200, height: 150, format: .gray8)
        let mean = { (i: Image) in Double(i.pixels.reduce(0) { $0 + Int($1) }) / Double(i.pixels.count) }
        #expect(gray.adjusted() == gray)
        let darker = gray.adjusted(brightness: -0.2)
        #expect(abs(mean(darker) - (mean(gray) - 51)) < 2)
        let stddev = { (i: Image) -> Double in let m = mean(i); return (i.pixels.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(i.pixels.count)).squareRoot() }
        #expect(stddev(gray.adjusted(contrast: 0.3)) > stddev(gray))
        #expect(stddev(gray.adjusted(contrast: -0.5)) < stddev(gray))
        for format in PixelFormat.allCases {
            let image = Self.page(format)
            #expect(image.inverted().inverted() == image.packed())
        }
        #expect(Image(width: 2, height: 1, format: .gray16, pixels: [0, 0, 0xFF, 0xFF]).inverted().pixels == [0xFF, 0xFF, 0, 0])
        #expect(TestPage.make16(format: .gray16).adjusted(brightness: 0.1) != TestPage.make16(format: .gray16))
    }

    @Test func blankPageDetection() {
        // Paper with noise, scanner-edge shadow and a few dust specks: blank.
        var rng = SplitMix64(state: 5)
        var paper = [UInt8](repeating: 0, count: 850 * 1100)
        for i in 0..<paper.count { paper[i] = UInt8(225 + rng.int(0..<31)) }
        for y in 0..<1100 { for x in 0..<12 { paper[y * 850 + x] = 40 } }   // dark edge, inside the margin
        for _ in 0..<40 { paper[rng.int(100..<1000) * 850 + rng.int(100..<750)] = 20 }   // isolated specks
        let blank = Image(width: 850, height: 1100, format: .gray8, xDPI: 100, yDPI: 100, pixels: paper)
        #expect(blank.isBlankPage)
        #expect(blank.converted(to: .rgb24).isBlankPage)
        let text = TestPage.make(width: 850, height: 1100, format: .gray8)
        let analysis = text.blankPageAnalysis()
        #expect(!analysis.isBlank && analysis.inkFraction > 0.01)
        #expect(!TestPage.make(width: 850, height: 1100, format: .bw1).isBlankPage)
    }

    @Test(arguments: [3.0, -2.0, 0.0])
    func deskewEstimateFindsTheSkew(angle: Double) {
        var page = TestPage.make(width: 800, height: 1000, format: .gray8, seed: 9, skewDegrees: angle)
        page = page.cropped(to: PixelRect(x: 0, y: 0, width: 800, height: 600))   // text part
        let estimate = page.estimatedSkewAngle()
        #expect(abs(estimate - angle) <= 0.3, "estimated \(estimate) for \(angle)")
        let straightened = page.rotated(degrees: -estimate, expand: false)
        #expect(abs(straightened.estimatedSkewAngle()) <= 0.3)
    }

    @Test func arbitraryRotationExpandsAndReverses() {
        let image = TestPage.make(width: 300, height: 200, format: .rgb24)
        let rotated = image.rotated(degrees: 30)
        #expect(rotated.width == Int((300 * cos(Double.pi / 6) + 200 * 0.5).rounded()))
        let back = rotated.rotated(degrees: -30, expand: false)
        let center = PixelRect(x: (back.width - 200) / 2, y: (back.height - 120) / 2, width: 200, height: 120)
        let original = image.cropped(to: PixelRect(x: 50, y: 40, width: 200, height: 120))
        // Two bilinear passes blur pixel noise and sub-pixel centring differs by up to half a
        // pixel: compare at quarter size.
        #expect(psnr(back.cropped(to: center).resized(width: 50, height: 30), original.resized(width: 50, height: 30)) > 25)
        #expect(image.converted(to: .bw1).rotated(degrees: 5).format == .bw1)
        #expect(image.converted(to: .gray16).rotated(degrees: 5).format == .gray16)
    }
}
