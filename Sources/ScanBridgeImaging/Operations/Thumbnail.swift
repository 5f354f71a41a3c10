/// Thumbnails of large pages. A thumbnail of an A4 page at 300 dpi shrinks it more than tenfold;
/// area averaging over the whole page in floating point then dominates the cost of a request.
/// Averaging whole k × k blocks with integer sums first (one pass over the bytes), then area
/// averaging the much smaller result to the exact size, gives nearly the same picture (a block
/// straddling an output pixel's edge is shared by weight, a slight blur) for a fraction of the work.
extension Image {
    /// This image fitted into `maxWidth × maxHeight` (never enlarged), for display: `bw1` comes
    /// back as `gray8`, like `fitted`. The size is exactly `fittingSize`'s.
    public func thumbnail(maxWidth: Int, maxHeight: Int) -> Image {
        let source = ThumbnailSource(of: self, maxWidth: maxWidth, maxHeight: maxHeight)
        return source.thumbnail(maxWidth: maxWidth, maxHeight: maxHeight) ?? fitted(maxWidth: maxWidth, maxHeight: maxHeight)
    }
}

/// A page reduced by whole blocks, from which thumbnails up to a given box are made without
/// reading the page again. A scan job makes one per page right after the scan (one pass over
/// the page); thumbnail requests then resample a few hundred kilobytes instead of tens of MB.
public struct ThumbnailSource: Sendable, Equatable {
    /// The page averaged over `block × block` squares (`bw1` pages as `gray8`); the page itself
    /// (`bw1` as `gray8`) when `block` is 1.
    public let reduced: Image
    public let block: Int
    /// The page's own size and resolution.
    public let width: Int
    public let height: Int
    public let xDPI: Double
    public let yDPI: Double

    /// A source for thumbnails that fit into `maxWidth × maxHeight` or a smaller box. The block
    /// leaves at least 3× of reduction for the exact pass, so that block edges do not show.
    public init(of page: Image, maxWidth: Int, maxHeight: Int) {
        width = page.width; height = page.height; xDPI = page.xDPI; yDPI = page.yDPI
        let size = page.fittingSize(maxWidth: maxWidth, maxHeight: maxHeight)
        let block = Self.block(width: width, height: height, for: size)
        if block >= 2, page.format == .bw1 {
            self.block = block
            reduced = page.blockAveragedFromBits(block)
        } else if block >= 2, page.format == .gray8 || page.format == .rgb24 {
            self.block = block
            reduced = page.blockAveraged(block)
        } else {
            self.block = 1
            reduced = page.format == .bw1 ? page.converted(to: .gray8) : page
        }
    }

    /// Bytes of pixels held.
    public var byteCount: Int { reduced.byteCount }

    /// The thumbnail for `maxWidth × maxHeight` (never enlarged; `fittingSize` of the page), or
    /// nil when that box needs more detail than this source kept (a box larger than it was made for).
    public func thumbnail(maxWidth: Int, maxHeight: Int) -> Image? {
        let size = Image.fittingSize(width: width, height: height, maxWidth: maxWidth, maxHeight: maxHeight)
        if block == 1 { return reduced.fitted(maxWidth: maxWidth, maxHeight: maxHeight) }
        guard Self.block(width: width, height: height, for: size) >= block else { return nil }
        var result = reduced.resized(width: size.width, height: size.height)
        // As `fitted` reports it (the blocks leave out a remainder of under `block` pixels).
        result.xDPI = xDPI * Double(size.width) / Double(width)
        result.yDPI = yDPI * Double(size.height) / Double(height)
        return result
    }

    private static func block(width: Int, height: Int, for size: (width: Int, height: Int)) -> Int {
        min(Image.largestBlock, min(width / max(1, size.width), height / max(1, size.height)) / 3)
    }
}
