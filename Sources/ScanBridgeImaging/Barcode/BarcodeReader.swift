import CLibZBar

/// A barcode found on a page.
public struct Barcode: Sendable, Equatable {
    /// ZBar's symbology name: "QR-Code", "CODE-128", "EAN-13", …
    public var format: String
    public var text: String
    public var bytes: [UInt8]
    /// Corner points in pixel coordinates.
    public var points: [(x: Int, y: Int)]

    public static func == (lhs: Barcode, rhs: Barcode) -> Bool {
        lhs.format == rhs.format && lhs.bytes == rhs.bytes && lhs.points.elementsEqual(rhs.points) { $0 == $1 }
    }
}

/// Reads 1D and 2D barcodes with ZBar. Blocking CPU work: call it on the compute pool.
public enum BarcodeReader {
    public static func read(_ image: Image) throws -> [Barcode] {
        let gray = image.format == .gray8 ? image : image.converted(to: .gray8)
        // ZBar wants tightly packed rows.
        var pixels = [UInt8](repeating: 0, count: gray.width * gray.height)
        for row in 0..<gray.height {
            let start = row * gray.stride
            pixels.replaceSubrange(row * gray.width..<(row + 1) * gray.width, with: gray.pixels[start..<start + gray.width])
        }
        guard let scanner = zbar_image_scanner_create() else { throw ImagingError.invalid("ZBar could not create a scanner") }
        defer { zbar_image_scanner_destroy(scanner) }
        zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 1)
        guard let zimage = zbar_image_create() else { throw ImagingError.invalid("ZBar could not create an image") }
        defer { zbar_image_destroy(zimage) }
        zbar_image_set_format(zimage, sb_zbar_format_y800())
        zbar_image_set_size(zimage, UInt32(gray.width), UInt32(gray.height))
        return pixels.withUnsafeBytes { raw -> [Barcode] in
            // ZBar only reads the buffer during zbar_scan_image, inside this closure.
            zbar_image_set_data(zimage, raw.baseAddress, UInt(raw.count), nil)
            guard zbar_scan_image(scanner, zimage) > 0 else { return [] }
            var found: [Barcode] = []
            var symbol = zbar_image_first_symbol(zimage)
            while let current = symbol {
                let length = Int(zbar_symbol_get_data_length(current))
                let bytes = zbar_symbol_get_data(current).map { pointer in
                    pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
                } ?? []
                var points: [(x: Int, y: Int)] = []
                for index in 0..<zbar_symbol_get_loc_size(current) {
                    points.append((Int(zbar_symbol_get_loc_x(current, index)), Int(zbar_symbol_get_loc_y(current, index))))
                }
                let name = String(cString: zbar_get_symbol_name(zbar_symbol_get_type(current)))
                found.append(Barcode(format: name, text: String(decoding: bytes, as: UTF8.self), bytes: bytes, points: points))
                symbol = zbar_symbol_next(current)
            }
            return found
        }
    }
}
