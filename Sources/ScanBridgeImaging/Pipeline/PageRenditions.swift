/// Encoded bytes of an image with their format and size.
public struct EncodedImage: Sendable, Equatable {
    public var format: ImageFileFormat
    public var bytes: [UInt8]
    public var width: Int
    public var height: Int

    public init(format: ImageFileFormat, bytes: [UInt8], width: Int, height: Int) {
        self.format = format; self.bytes = bytes; self.width = width; self.height = height
    }
}

/// The stored form of a page.
public enum StoredPageForm: Sendable, Hashable {
    /// JPEG (quality 85) for gray and colour, PNG for `bw1` (lossless, 1-bit).
    case automatic
    case jpeg(quality: Int, subsampling: JPEGCodec.Subsampling)
    case png(compressionLevel: Int)
    case tiff(TIFFCompression)
    case bmp
}

/// What the pipeline makes of each page.
public struct RenditionSettings: Sendable, Hashable {
    public var stored: StoredPageForm
    /// Thumbnail box (fitted, JPEG).
    public var thumbnailSize: Int
    public var thumbnailQuality: Int
    /// Preview box (fitted, JPEG).
    public var previewSize: Int
    public var previewQuality: Int

    public init(stored: StoredPageForm = .automatic, thumbnailSize: Int = 200, thumbnailQuality: Int = 75,
                previewSize: Int = 1024, previewQuality: Int = 80) {
        self.stored = stored; self.thumbnailSize = thumbnailSize; self.thumbnailQuality = thumbnailQuality
        self.previewSize = previewSize; self.previewQuality = previewQuality
    }
}

/// A page's stored form, thumbnail and preview.
public struct PageRenditions: Sendable, Equatable {
    public var stored: EncodedImage
    public var thumbnail: EncodedImage
    public var preview: EncodedImage
}

public enum PageEncoder {
    /// zlib level of stored BW pages. An A4 300 dpi BW page (1.1 MB of rows) takes 2.0 ms at
    /// level 3 against 5.5 ms at 6 for 11.1 kB against 8.2 kB (SANE's "Color pattern"): in a
    /// batch the encode is a sixth of the service's CPU for a BW page, the bytes a rounding error.
    static let bwCompressionLevel = 3

    /// Encodes `image` in a stored form.
    public static func encode(_ image: Image, as form: StoredPageForm) throws -> EncodedImage {
        let bytes: [UInt8], format: ImageFileFormat
        switch form {
        case .automatic where image.format == .bw1:
            (bytes, format) = (try PNGCodec.encode(image, compressionLevel: bwCompressionLevel, filters: .none), .png)
        case .automatic:
            (bytes, format) = (try JPEGCodec.encode(image, quality: 85), .jpeg)
        case .jpeg(let quality, let subsampling):
            (bytes, format) = (try JPEGCodec.encode(image, quality: quality, subsampling: subsampling), .jpeg)
        case .png(let level):
            (bytes, format) = (try PNGCodec.encode(image, compressionLevel: level), .png)
        case .tiff(let compression):
            (bytes, format) = (try TIFFCodec.encode(image, compression: compression), .tiff)
        case .bmp:
            (bytes, format) = (try BMPCodec.encode(image), .bmp)
        }
        return EncodedImage(format: format, bytes: bytes, width: image.width, height: image.height)
    }

    /// `image` fitted into `size × size` (never enlarged) as JPEG; resampled by `thumbnail`
    /// (block pre-shrink, then the exact pass).
    public static func fittedJPEG(_ image: Image, size: Int, quality: Int) throws -> EncodedImage {
        let small = image.thumbnail(maxWidth: size, maxHeight: size)
        return EncodedImage(format: .jpeg, bytes: try JPEGCodec.encode(small, quality: quality), width: small.width, height: small.height)
    }

    /// Stored form, thumbnail and preview of one page, as three concurrent jobs on `pool`.
    public static func renditions(of image: Image, settings: RenditionSettings = RenditionSettings(),
                                  pool: ComputePool = .shared) async throws -> PageRenditions {
        async let stored = pool.run { try encode(image, as: settings.stored) }
        async let thumbnail = pool.run { try fittedJPEG(image, size: settings.thumbnailSize, quality: settings.thumbnailQuality) }
        async let preview = pool.run { try fittedJPEG(image, size: settings.previewSize, quality: settings.previewQuality) }
        return try await PageRenditions(stored: stored, thumbnail: thumbnail, preview: preview)
    }
}

extension AsyncSequence where Self: Sendable, Element == Image {
    /// Each page's renditions, pages in order, up to `limit` pages in flight (each page runs
    /// its three encodes concurrently on `pool`).
    public func renditions(settings: RenditionSettings = RenditionSettings(), pool: ComputePool = .shared,
                           limit: Int? = nil) -> ParallelMapSequence<Self, PageRenditions> {
        orderedConcurrentMap(limit: limit ?? Swift.max(1, pool.threadCount)) { image in
            try await PageEncoder.renditions(of: image, settings: settings, pool: pool)
        }
    }
}
