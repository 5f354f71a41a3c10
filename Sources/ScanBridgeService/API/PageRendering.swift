import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage

/// Turning stored pages into what clients asked for. Formats are `ImageFileFormat`s; MIME
/// types appear only where a page's stored content or a response says what its bytes are.
/// Every codec call runs on the compute pool, never on the cooperative pool.
enum PageRendering {
    static let pool = ComputePool.shared

    /// The page's pixels (decoding an encoded page).
    static func image(of page: Page) async throws -> Image {
        switch page.content {
        case .raw(let image): return image
        case .encoded(_, let bytes): return try await pool.run { try ImageDecoder.decode(bytes) }
        }
    }

    /// The page as `format`; an encoded page already in that format is returned unchanged.
    static func encode(_ page: Page, as format: ImageFileFormat, quality: Int = StoredForm.jpegQuality) async throws -> [UInt8] {
        if let encoded = page.content.encodedImage, encoded.format == format { return encoded.bytes }
        let source = try await image(of: page)
        return try await pool.run { try encode(source, as: format, quality: quality) }
    }

    /// A buffer page as `format` at the stored form's quality: the stored form made when the
    /// page was scanned when it is in that format (no encode at all), otherwise the content encoded now.
    static func encode(bufferPage id: Int, in buffer: ImageBuffer, as format: ImageFileFormat) async throws -> [UInt8] {
        if let stored = try await buffer.storedForm(id: id)?.content.encodedImage, stored.format == format { return stored.bytes }
        return try await encode(try await buffer.content(id: id), as: format, quality: StoredForm.jpegQuality)
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

    /// The page in its `StoredForm` (an encoded page is kept as it is), for documents.
    static func storedForm(_ page: Page) async throws -> Page {
        guard case .raw(let image) = page.content else { return page }
        let encoded = try await pool.run { try StoredForm.encode(image) }
        return Page(encoded: encoded.bytes, mediaType: encoded.format.mimeType, info: page.info)
    }

    /// Synchronous encode for work already on the pool.
    static func encode(_ image: Image, as format: ImageFileFormat, quality: Int) throws -> [UInt8] {
        switch format {
        case .png: return try PNGCodec.encode(image)
        case .jpeg: return try JPEGCodec.encode(eightBit(image), quality: quality)
        case .tiff: return try TIFFCodec.encode(image)
        case .bmp: return try BMPCodec.encode(eightBit(image))
        case .pdf: throw DWTErrors.invalidParameter("A page is an image, not a PDF")
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
    static func requestedImageType(_ value: String?) throws(ScanBridgeError) -> ImageFileFormat {
        switch value?.lowercased() {
        case nil, "", "image/png", "png": return .png
        case "image/jpeg", "image/jpg", "jpeg", "jpg": return .jpeg
        case let other?: throw DWTErrors.invalidParameter("type must be image/png or image/jpeg, not \(other)")
        }
    }
}
