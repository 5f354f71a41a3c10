/// Black-and-white image XObjects from data already encoded for them.
extension PDFPageImage {
    /// Bytes of the image's stream data: what the page's image adds to the PDF.
    public var byteCount: Int { data.count }

    /// A CCITT Group 4 strip (as libtiff writes it, or as a PDF's own CCITTFaxDecode image holds
    /// it), embedded as it is. BlackIs1 false makes the code's black runs black; an `inverted`
    /// strip's white runs are the black ones, so BlackIs1 true.
    public init(ccittG4 strip: [UInt8], width: Int, height: Int, inverted: Bool = false, xDPI: Double, yDPI: Double) {
        self.init(width: width, height: height, xDPI: xDPI, yDPI: yDPI,
                  dictionary: "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns \(width) /Rows \(height) /BlackIs1 \(inverted) >>",
                  data: strip)
    }

    /// A JBIG2 embedded stream with no global segments (`JBIG2GenericEncoder`). The filter turns
    /// JBIG2's 1 (black) into DeviceGray's black, so no Decode array is needed.
    init(jbig2 stream: [UInt8], width: Int, height: Int, xDPI: Double, yDPI: Double) {
        self.init(width: width, height: height, xDPI: xDPI, yDPI: yDPI,
                  dictionary: "/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode",
                  data: stream)
    }
}
