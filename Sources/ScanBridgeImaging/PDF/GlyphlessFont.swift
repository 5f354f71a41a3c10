/// The font of invisible text layers: a TrueType program written here whose glyphs draw nothing,
/// every one half an em wide, so text can be placed over a scanned image and searched, selected
/// and copied without changing how the page looks. Embedded (PDF/A wants every font embedded) as
/// a Type 0 font with Identity-H encoding: each character is one 2-byte code, its UTF-16 unit,
/// all codes drawn with glyph 1, and a ToUnicode map that gives the code back as the text.
enum GlyphlessFont {
    /// Every glyph's advance, in thousandths of the font size.
    static let advance = 500
    /// How far the font's box reaches above and below the baseline, in thousandths of the font
    /// size: a text layer sized to a line's height covers the line from descenders to ascenders.
    static let ascent = 800
    static let descent = 200
    /// Font units per em (so an advance of 500 units is half an em).
    private static let unitsPerEm = 1000

    /// The TrueType file: two empty glyphs (.notdef and the one every code maps to).
    static let trueType: [UInt8] = {
        var tables: [(tag: String, data: [UInt8])] = [
            ("OS/2", os2), ("cmap", cmap), ("glyf", []), ("head", head), ("hhea", hhea),
            ("hmtx", be16(UInt16(advance)) + be16(0) + be16(UInt16(advance)) + be16(0)),
            ("loca", be16(0) + be16(0) + be16(0)), ("maxp", maxp), ("name", nameTable), ("post", post),
        ]
        tables.sort { $0.tag.utf8.lexicographicallyPrecedes($1.tag.utf8) }
        let count = tables.count
        var font = be32(0x0001_0000) + be16(UInt16(count)) + be16(128) + be16(3) + be16(UInt16(count * 16 - 128))
        var offset = 12 + count * 16
        var headOffset = 0
        var bodies: [UInt8] = []
        for table in tables {
            let padded = table.data + [UInt8](repeating: 0, count: (4 - table.data.count % 4) % 4)
            font += Array(table.tag.utf8) + be32(checksum(padded)) + be32(UInt32(offset)) + be32(UInt32(table.data.count))
            if table.tag == "head" { headOffset = offset }
            bodies += padded
            offset += padded.count
        }
        font += bodies
        // head.checkSumAdjustment makes the whole file sum to 0xB1B0AFBA.
        let adjustment = 0xB1B0_AFBA &- checksum(font)
        font.replaceSubrange((headOffset + 8)..<(headOffset + 12), with: be32(adjustment))
        return font
    }()

    /// The font's PostScript name.
    static let postScriptName = "ScanBridgeGlyphless"

    /// CID → glyph: every code to glyph 1 (2 bytes per CID, 65536 of them), Flate-compressed.
    static let cidToGIDMap: [UInt8] = {
        var map = [UInt8](repeating: 0, count: 65536 * 2)
        for cid in 0..<65536 { map[cid * 2 + 1] = 1 }
        return map
    }()

    /// The ToUnicode CMap: each 2-byte code is its own UTF-16 unit.
    static let toUnicode: [UInt8] = Array("""
        /CIDInit /ProcSet findresource begin
        12 dict begin
        begincmap
        /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
        /CMapName /Adobe-Identity-UCS def
        /CMapType 2 def
        1 begincodespacerange
        <0000> <FFFF>
        endcodespacerange
        1 beginbfrange
        <0000> <FFFF> <0000>
        endbfrange
        endcmap
        CMapName currentdict /CMap defineresource pop
        end
        end

        """.utf8)

    // MARK: Tables

    private static var head: [UInt8] {
        be32(0x0001_0000) + be32(0x0001_0000) + be32(0) + be32(0x5F0F_3CF5)
            + be16(0x000B) + be16(UInt16(unitsPerEm))
            + [UInt8](repeating: 0, count: 16)                      // created, modified
            + be16(0) + be16(UInt16(bitPattern: Int16(-descent))) + be16(UInt16(advance)) + be16(UInt16(ascent))   // xMin yMin xMax yMax
            + be16(0) + be16(3) + be16(2) + be16(0) + be16(0)       // macStyle, lowestRecPPEM, direction, short loca, glyph format
    }

    private static var hhea: [UInt8] {
        be32(0x0001_0000) + be16(UInt16(ascent)) + be16(UInt16(bitPattern: Int16(-descent))) + be16(0)   // ascender, descender, lineGap
            + be16(UInt16(advance)) + be16(0) + be16(0) + be16(UInt16(advance))
            + be16(1) + be16(0) + be16(0)                           // caret slope rise, run, offset
            + [UInt8](repeating: 0, count: 8) + be16(0) + be16(2)   // reserved, metric format, hmetrics
    }

    private static var maxp: [UInt8] {
        be32(0x0001_0000) + be16(2) + be16(0) + be16(0) + be16(0) + be16(0) + be16(2)
            + [UInt8](repeating: 0, count: 16)
    }

    private static var cmap: [UInt8] {
        // One Windows Unicode subtable (format 4) with only the closing segment: the PDF maps
        // codes to glyphs itself (CIDToGIDMap).
        let subtable = be16(4) + be16(24) + be16(0) + be16(2) + be16(2) + be16(0) + be16(0)
            + be16(0xFFFF) + be16(0) + be16(0xFFFF) + be16(1) + be16(0)
        return be16(0) + be16(1) + be16(3) + be16(1) + be32(12) + subtable
    }

    private static var os2: [UInt8] {
        var table = be16(4) + be16(UInt16(advance)) + be16(400) + be16(5) + be16(0)   // version, avg width, weight, width, fsType: installable
        table += [UInt8](repeating: 0, count: 20 + 2 + 10 + 16)           // sub/superscript, strikeout, family class, PANOSE, Unicode ranges
        table += Array("SBRG".utf8) + be16(0x0040)                         // vendor, fsSelection: regular
        table += be16(0x0020) + be16(0xFFFF)                               // first and last character
        table += be16(UInt16(ascent)) + be16(UInt16(bitPattern: Int16(-descent))) + be16(0) + be16(UInt16(ascent)) + be16(UInt16(descent))
        table += be32(1) + be32(0)                                         // code pages: Latin 1
        table += be16(500) + be16(700) + be16(0) + be16(0x20) + be16(1)    // x-height, cap height, default, break, context
        return table
    }

    private static var post: [UInt8] {
        be32(0x0003_0000) + be32(0) + be16(UInt16(bitPattern: -100)) + be16(50) + be32(1) + [UInt8](repeating: 0, count: 16)
    }

    private static var nameTable: [UInt8] {
        let records: [(id: UInt16, text: String)] = [
            (1, postScriptName), (2, "Regular"), (3, postScriptName + " 1.0"), (4, postScriptName), (5, "Version 1.0"), (6, postScriptName),
        ]
        var strings: [UInt8] = []
        var directory: [UInt8] = []
        for record in records {
            let utf16 = record.text.utf16.flatMap { be16($0) }
            directory += be16(3) + be16(1) + be16(0x0409) + be16(record.id) + be16(UInt16(utf16.count)) + be16(UInt16(strings.count))
            strings += utf16
        }
        return be16(0) + be16(UInt16(records.count)) + be16(UInt16(6 + directory.count)) + directory + strings
    }

    // MARK: Bytes

    private static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    private static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }

    private static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var sum: UInt32 = 0
        var index = 0
        while index < bytes.count {
            var word: UInt32 = 0
            for k in 0..<4 { word = word << 8 | UInt32(index + k < bytes.count ? bytes[index + k] : 0) }
            sum = sum &+ word
            index += 4
        }
        return sum
    }
}
