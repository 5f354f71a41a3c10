import ScanBridgeCore
import Synchronization

/// What the scan pipeline makes of a page as it arrives: its stored form and its reduction for
/// thumbnails, so that requests for either need no other pass over the page.
public struct PageProducts: Sendable, Equatable {
    /// Nil when the encode failed (the page is encoded when asked for).
    public var storedForm: EncodedImage?
    /// Nil when the page is already about thumbnail size.
    public var thumbnailSource: ThumbnailSource?

    public init(storedForm: EncodedImage? = nil, thumbnailSource: ThumbnailSource? = nil) {
        self.storedForm = storedForm
        self.thumbnailSource = thumbnailSource
    }
}

/// The stage between a scanner and the buffer, made of named steps that can each be run (and
/// measured) on their own: `storedForm` encodes the page in its `StoredForm`, `thumbnailSource`
/// reduces it for thumbnails; `products` runs both for one page, and `AsyncSequence.scanPipeline`
/// runs them for a stream of pages, a page per core at a time on the compute pool, in order.
public enum ScanPipeline {
    /// Thumbnail requests up to this box (the SDK's default size, DWT pages' thumbnail views)
    /// are served from the reduced page; larger ones read the whole page.
    public static let thumbnailSourceBox = 240

    /// Step 1: the page in its stored form; nil when the encode fails. `jpegOutput`: see
    /// `StoredForm.encode`.
    public static func storedForm(of image: Image, jpegOutput: JPEGOutputBuffer? = nil) -> EncodedImage? {
        try? StoredForm.encode(image, jpegOutput: jpegOutput)
    }

    /// Step 2: the page reduced for thumbnails; nil when it would not be smaller than the page.
    public static func thumbnailSource(of image: Image) -> ThumbnailSource? {
        let source = ThumbnailSource(of: image, maxWidth: thumbnailSourceBox, maxHeight: thumbnailSourceBox)
        return source.block > 1 ? source : nil
    }

    /// Both steps for one page, on the calling thread. The encoder's pass brings the page into
    /// the cache; the reduction follows it.
    public static func products(of image: Image, jpegOutput: JPEGOutputBuffer? = nil) -> PageProducts {
        PageProducts(storedForm: storedForm(of: image, jpegOutput: jpegOutput), thumbnailSource: thumbnailSource(of: image))
    }
}

/// The JPEG output buffers of one run of the pipeline, one per page being encoded at a time:
/// every page after the first few is encoded into memory already mapped, and its stored form
/// copied out into the array of an earlier page that is gone (`ByteArrayPool.storedForms`).
/// Freed with the run.
final class JPEGOutputBuffers: Sendable {
    private let idle = Mutex<[JPEGOutputBuffer]>([])

    func withBuffer<R>(_ body: (JPEGOutputBuffer) -> R) -> R {
        let buffer = idle.withLock { $0.popLast() } ?? JPEGOutputBuffer(recycling: .storedForms)
        defer { idle.withLock { $0.append(buffer) } }
        return body(buffer)
    }
}

extension ByteArrayPool {
    /// The arrays of scanned pages' stored forms (megabytes of JPEG a page), reused for later
    /// pages once their pages are deleted, like the page buffers themselves.
    public static let storedForms = ByteArrayPool(name: "sb-stored-forms", maxBytes: 256 << 20)
}

extension AsyncSequence where Self: Sendable, Element: Sendable {
    /// The scan pipeline over pages as they arrive: each element whose `image` is not nil (a
    /// raster page; pages that arrive encoded have none) runs `ScanPipeline.products` on `pool`,
    /// up to a page per pool thread at a time while the producer delivers the next ones; the
    /// elements come out in order, each with its products (empty for pages without an image).
    public func scanPipeline(pool: ComputePool = .shared,
                             image: @escaping @Sendable (Element) -> Image?) -> ParallelMapSequence<Self, (Element, PageProducts)> {
        let outputs = JPEGOutputBuffers()
        return parallelMap(pool: pool) { element in
            (element, image(element).map { page in outputs.withBuffer { ScanPipeline.products(of: page, jpegOutput: $0) } } ?? PageProducts())
        }
    }
}
