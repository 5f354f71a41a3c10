import ScanBridgeImaging

/// A page that is one image and nothing else (a scanned page, ours or another program's), with
/// that image in a form ScanBridge keeps as it is: a JPEG (DCTDecode) or a CCITT G4 strip.
struct SingleImagePage: Sendable {
    enum Data: Sendable, Equatable {
        case jpeg([UInt8])
        case ccittG4(CCITTG4Strip)
    }

    var data: Data
    var width: Int
    var height: Int
    var format: PixelFormat
    var xDPI: Double
    var yDPI: Double

    /// The page's image when the page only draws it, upright and covering the whole visible
    /// page, and the image is JPEG (8-bit gray or RGB, no Decode array, no mask) or G4 whose
    /// black is black; nil otherwise (the page is rendered instead).
    init?(_ page: PDFFile.Page, in file: PDFFile) {
        guard let found = try? Self.find(page, in: file) else { return nil }
        self = found
    }

    private init(data: Data, width: Int, height: Int, format: PixelFormat, xDPI: Double, yDPI: Double) {
        self.data = data; self.width = width; self.height = height; self.format = format; self.xDPI = xDPI; self.yDPI = yDPI
    }

    private static func find(_ page: PDFFile.Page, in file: PDFFile) throws -> SingleImagePage? {
        guard page.rotate % 360 == 0, let box = page.cropBox ?? page.mediaBox, box.count == 4 else { return nil }
        guard let draw = try drawnImage(page, in: file) else { return nil }
        // The image must fill the visible page (within a point), drawn upright.
        let (matrix, name) = draw
        guard matrix[1] == 0, matrix[2] == 0, matrix[0] > 0, matrix[3] > 0 else { return nil }
        let left = min(box[0], box[2]), bottom = min(box[1], box[3]), right = max(box[0], box[2]), top = max(box[1], box[3])
        guard abs(matrix[4] - left) <= 1, abs(matrix[5] - bottom) <= 1,
              abs(matrix[4] + matrix[0] - right) <= 1, abs(matrix[5] + matrix[3] - top) <= 1 else { return nil }
        guard let objects = try page.resources.flatMap({ try $0["XObject"].map(file.resolvedDictionary) }),
              let reference = objects[name] else { return nil }
        let stream = try file.resolve(reference)
        guard case .stream(let image, let range) = stream, image["Subtype"]?.name == "Image" else { return nil }
        guard image["SMask"] == nil, image["Mask"] == nil else { return nil }
        if let mask = image["ImageMask"], try file.resolve(mask).bool == true { return nil }
        guard let width = try file.resolve(image["Width"]).integer, let height = try file.resolve(image["Height"]).integer,
              width > 0, height > 0 else { return nil }
        let bits = try image["BitsPerComponent"].map { try file.resolve($0).integer } ?? nil
        let colourSpace = try image["ColorSpace"].map { try file.resolve($0).name } ?? nil
        let xDPI = Double(width) * 72 / matrix[0], yDPI = Double(height) * 72 / matrix[3]
        let bytes = Array(file.bytes[range])
        switch try file.filters(of: image) {
        case ["DCTDecode"]:
            guard image["Decode"] == nil, bits == 8, let info = try? JPEGInfo(bytes), info.width == width, info.height == height,
                  info.bitsPerComponent == 8 else { return nil }
            let format: PixelFormat
            switch (colourSpace, info.components) {
            case ("DeviceGray", 1): format = .gray8
            case ("DeviceRGB", 3): format = .rgb24
            default: return nil
            }
            return SingleImagePage(data: .jpeg(bytes), width: width, height: height, format: format, xDPI: xDPI, yDPI: yDPI)
        case ["CCITTFaxDecode"]:
            // DecodeParms: a dictionary, or (as a filter array's parameters) an array of one.
            var parameters: [String: PDFObject] = [:]
            if let given = image["DecodeParms"] {
                let resolved = try file.resolve(given)
                parameters = try file.resolvedDictionary(resolved.array.map { $0.count == 1 ? $0[0] : .null } ?? resolved)
            }
            func integer(_ key: String, _ otherwise: Int) throws -> Int? { try parameters[key].map { try file.resolve($0).integer } ?? otherwise }
            func flag(_ key: String, _ otherwise: Bool) throws -> Bool? { try parameters[key].map { try file.resolve($0).bool } ?? otherwise }
            let decode = try image["Decode"].map(file.numbers)
            // Without a Decode array BlackIs1 false shows the code's black runs black; true
            // shows its white runs black (inverted), and a Decode [1 0] swaps that again.
            guard let blackIs1 = try flag("BlackIs1", false), decode == nil || decode == [1, 0] else { return nil }
            let inverted = blackIs1 != (decode == [1, 0])
            guard try integer("K", 0) == -1, try integer("Columns", 1728) == width,
                  try parameters["Rows"].map({ try file.resolve($0).integer }) ?? height == height,
                  try flag("EncodedByteAlign", false) == false,
                  bits == nil || bits == 1, colourSpace == nil || colourSpace == "DeviceGray" else { return nil }
            return SingleImagePage(data: .ccittG4(CCITTG4Strip(data: bytes, width: width, height: height, inverted: inverted)),
                                   width: width, height: height, format: .bw1, xDPI: xDPI, yDPI: yDPI)
        default:
            return nil
        }
    }

    /// The matrix an image is drawn with and its name, when the content is only `q`, `Q`, `cm`
    /// and a single `Do`.
    private static func drawnImage(_ page: PDFFile.Page, in file: PDFFile) throws -> ([Double], String)? {
        let contents = try file.resolve(page.dictionary["Contents"])
        let streams: [PDFObject] = switch contents {
        case .array(let items): try items.map { try file.resolve($0) }
        default: [contents]
        }
        var content: [UInt8] = []
        for stream in streams { content += try file.decodedData(of: stream, limit: 1 << 20) + [0x0A] }
        var lexer = PDFLexer(content)
        var operands: [PDFObject] = []
        var matrix: [Double] = [1, 0, 0, 1, 0, 0]
        var saved: [[Double]] = []
        var drawn: ([Double], String)?
        while let token = try lexer.next() {
            switch token {
            case .object(let operand): operands.append(operand)
            case .keyword("q"): saved.append(matrix)
            case .keyword("Q"):
                guard let last = saved.popLast() else { return nil }
                matrix = last
            case .keyword("cm"):
                let values = operands.compactMap(\.number)
                guard operands.count == 6, values.count == 6 else { return nil }
                matrix = multiply(values, matrix)
            case .keyword("Do"):
                guard drawn == nil, operands.count == 1, let name = operands[0].name else { return nil }
                drawn = (matrix, name)
            default:
                return nil
            }
            if case .keyword = token { operands = [] }
        }
        return drawn
    }

    /// `a` then `b` (PDF's row-vector matrices [a b c d e f]).
    private static func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
         a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
         a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]
    }
}
