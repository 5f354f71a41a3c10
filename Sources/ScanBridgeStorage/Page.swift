import Foundation
import ScanBridgeCore
import ScanBridgeImaging

/// What the API reports about a page: size, pixel format, resolution and bit depth.
public struct PageInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var format: PixelFormat
    public var xDPI: Double
    public var yDPI: Double

    public init(width: Int, height: Int, format: PixelFormat, xDPI: Double, yDPI: Double) {
        self.width = width
        self.height = height
        self.format = format
        self.xDPI = xDPI
        self.yDPI = yDPI
    }

    public init(_ image: Image) {
        self.init(width: image.width, height: image.height, format: image.format, xDPI: image.xDPI, yDPI: image.yDPI)
    }

    public var bitsPerPixel: Int { format.bitsPerPixel }
    public var bitsPerSample: Int { format.bitsPerSample }
    public var samplesPerPixel: Int { format.channels }
}

/// A page's content, stored exactly as received: raw pixels, or bytes already encoded by a codec.
public enum PageContent: Sendable, Equatable {
    case raw(Image)
    /// Encoded bytes (`image/jpeg`, `image/png`, `image/tiff`, …): stored and returned unchanged.
    case encoded(mediaType: String, bytes: [UInt8])

    /// The encoded bytes with their format, for content encoded in a format ScanBridge knows.
    public var encodedImage: (format: ImageFileFormat, bytes: [UInt8])? {
        guard case .encoded(let mediaType, let bytes) = self, let format = ImageFileFormat(mimeType: mediaType) else { return nil }
        return (format, bytes)
    }
}

/// One page as the buffer and documents hold it. Round-trips byte-exact through memory, the
/// encrypted cache and document files.
public struct Page: Sendable, Equatable {
    public var info: PageInfo
    public var content: PageContent

    /// A raw page; its info is the image's own.
    public init(image: Image) {
        info = PageInfo(image)
        content = .raw(image)
    }

    /// An encoded page; `info` describes the picture inside (the storage layer does not decode).
    public init(encoded bytes: [UInt8], mediaType: String, info: PageInfo) {
        self.info = info
        content = .encoded(mediaType: mediaType, bytes: bytes)
    }

    /// nil for raw pages.
    public var mediaType: String? {
        if case .encoded(let type, _) = content { return type }
        return nil
    }

    /// Bytes the page's content occupies in memory (what the buffer's memory limit counts).
    public var byteCount: Int {
        switch content {
        case .raw(let image): image.pixels.count
        case .encoded(_, let bytes): bytes.count
        }
    }
}

/// Forms of a raw page made from it when it arrived (a scan job makes them in parallel with the
/// scanner), kept beside the page so that requests for them need no pass over the page.
public struct PageDerivatives: Sendable, Equatable {
    /// The page encoded in the form documents keep (JPEG for gray and colour, PNG for BW).
    public var storedForm: Page?
    /// The page reduced for thumbnails.
    public var thumbnailSource: ThumbnailSource?

    public init(storedForm: Page? = nil, thumbnailSource: ThumbnailSource? = nil) {
        self.storedForm = storedForm
        self.thumbnailSource = thumbnailSource
    }

    public static let none = PageDerivatives()

    /// Bytes they occupy in memory.
    public var byteCount: Int { (storedForm?.byteCount ?? 0) + (thumbnailSource?.byteCount ?? 0) }
}

// MARK: - File form

/// The JSON header in front of a page's bytes in cache and document files.
struct PageHeader: Codable {
    var kind: String              // "raw" | "encoded"
    var width: Int
    var height: Int
    var format: String
    var xDPI: Double
    var yDPI: Double
    var stride: Int?
    var mediaType: String?
}

extension Page {
    /// The header and payload `Container` writes; the payload is the content's own array (no copy).
    func fileForm() -> (header: [UInt8], payload: [UInt8]) {
        var header = PageHeader(kind: "raw", width: info.width, height: info.height, format: info.format.rawValue,
                                xDPI: info.xDPI, yDPI: info.yDPI)
        let payload: [UInt8]
        switch content {
        case .raw(let image):
            header.stride = image.stride
            payload = image.pixels
        case .encoded(let type, let bytes):
            header.kind = "encoded"
            header.mediaType = type
            payload = bytes
        }
        let encoded = (try? JSONEncoder().encode(header)) ?? Data()
        return (Array(encoded), payload)
    }

    /// The page from a file's header and payload; nil when they do not describe a valid page.
    init?(header: [UInt8], payload: [UInt8]) {
        guard let fields = try? JSONDecoder().decode(PageHeader.self, from: Data(header)),
              let format = PixelFormat(rawValue: fields.format),
              fields.width >= 0, fields.height >= 0 else { return nil }
        let info = PageInfo(width: fields.width, height: fields.height, format: format, xDPI: fields.xDPI, yDPI: fields.yDPI)
        switch fields.kind {
        case "raw":
            guard let stride = fields.stride, stride >= format.minimumStride(width: fields.width),
                  stride.multipliedReportingOverflow(by: fields.height).partialValue <= payload.count else { return nil }
            self.init(image: Image(width: fields.width, height: fields.height, format: format, stride: stride,
                                   xDPI: fields.xDPI, yDPI: fields.yDPI, pixels: payload))
        case "encoded":
            guard let type = fields.mediaType else { return nil }
            self.init(encoded: payload, mediaType: type, info: info)
        default:
            return nil
        }
    }
}
