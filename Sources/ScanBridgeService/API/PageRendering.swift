import ScanBridgeCore
import ScanBridgeHTTP
import ScanBridgeImaging
import ScanBridgeStorage

/// Turning stored pages into what clients asked for. Every codec call runs on the compute pool,
/// never on the cooperative pool.
enum PageRendering {
    static let pool = ComputePool.shared

    /// The page's pixels (decoding an encoded page).
    static func image(of page: Page) async throws -> Image {
        switch page.content {
        case .raw(let image): return image
        case .encoded(_, let bytes): return try await pool.run { try ImageDecoder.decode(bytes) }
        }
    }

    /// The page as `mediaType` (`image/png` or `image/jpeg`); an encoded page already in that
    /// type is returned unchanged.
    static func encode(_ page: Page, as mediaType: String, quality: Int = storedJPEGQuality) async throws -> [UInt8] {
        if case .encoded(let type, let bytes) = page.content, type == mediaType { return bytes }
        let source = try await image(of: page)
        return try await pool.run { try encode(source, as: mediaType, quality: quality) }
    }

    /// A buffer page as `mediaType` at the stored form's quality: the stored form made when the
    /// page was scanned when it is of that type (no encode at all), otherwise the content encoded now.
    static func encode(bufferPage id: Int, in buffer: ImageBuffer, as mediaType: String) async throws -> [UInt8] {
        if let stored = try await buffer.storedForm(id: id), case .encoded(mediaType, let bytes) = stored.content { return bytes }
        return try await encode(try await buffer.content(id: id), as: mediaType, quality: storedJPEGQuality)
    }

    /// A buffer page fitted into `maxWidth × maxHeight` (never enlarged; `bw1` as `gray8`): from
    /// the page's thumbnail source when it has one for that box, otherwise from the page.
    static func thumbnail(bufferPage id: Int, in buffer: ImageBuffer, maxWidth: Int, maxHeight: Int) async throws -> Image {
        if let source = try await buffer.derived(id: id).thumbnailSource,
           let thumbnail = try await pool.run({ source.thumbnail(maxWidth: maxWidth, maxHeight: maxHeight) }) {
            return thumbnail
        }
        let image = try await image(of: try await buffer.content(id: id))
        return try await pool.run { image.thumbnail(maxWidth: maxWidth, maxHeight: maxHeight) }
    }

    /// The JPEG quality of stored forms (and of page JPEGs made without one).
    static let storedJPEGQuality = 85

    /// The form documents keep pages in: JPEG (`storedJPEGQuality`) for gray and colour, lossless
    /// PNG for black and white; an encoded page is kept as it is. Synchronous, for work on the pool.
    static func storedForm(of page: Page) throws -> Page {
        guard case .raw(let image) = page.content else { return page }
        let encoded = try PageEncoder.encode(image, as: image.format == .bw1 ? .automatic : .jpeg(quality: storedJPEGQuality, subsampling: .s420))
        return Page(encoded: encoded.bytes, mediaType: encoded.format.mimeType, info: page.info)
    }

    /// Synchronous encode for work already on the pool.
    static func encode(_ image: Image, as mediaType: String, quality: Int) throws -> [UInt8] {
        switch mediaType {
        case "image/png": return try PNGCodec.encode(image)
        case "image/jpeg": return try JPEGCodec.encode(eightBit(image), quality: quality)
        case "image/tiff": return try TIFFCodec.encode(image)
        case "image/bmp": return try BMPCodec.encode(eightBit(image))
        default: throw DWTErrors.invalidParameter("Unsupported image type \(mediaType)")
        }
    }

    /// JPEG and BMP hold 8-bit gray or colour only.
    static func eightBit(_ image: Image) -> Image {
        switch image.format {
        case .bw1, .gray16: image.converted(to: .gray8)
        case .rgb48: image.converted(to: .rgb24)
        case .gray8, .rgb24: image
        }
    }

    /// The `type` query of page requests: `image/png` (default) or `image/jpeg`.
    static func requestedImageType(_ value: String?) throws(ScanBridgeError) -> String {
        switch value?.lowercased() {
        case nil, "", "image/png", "png": return "image/png"
        case "image/jpeg", "image/jpg", "jpeg", "jpg": return "image/jpeg"
        case let other?: throw DWTErrors.invalidParameter("type must be image/png or image/jpeg, not \(other)")
        }
    }
}
