extension PDFWriter {
    /// The object number of the glyphless Type 0 font that text layers use; its objects are
    /// written the first time a page needs it and shared by every later page.
    func glyphlessFont() throws -> Int {
        if let glyphlessFontID { return glyphlessFontID }
        let fontID = allocate(), cidFontID = allocate(), descriptorID = allocate()
        let programID = allocate(), mapID = allocate(), toUnicodeID = allocate()
        let name = GlyphlessFont.postScriptName
        let program = GlyphlessFont.trueType
        try writeStream(programID, dictionary: "/Length1 \(program.count) /Filter /FlateDecode", data: try Deflate.compress(program, level: 9))
        try writeStream(mapID, dictionary: "/Filter /FlateDecode", data: try Deflate.compress(GlyphlessFont.cidToGIDMap, level: 9))
        try writeStream(toUnicodeID, dictionary: "/Filter /FlateDecode", data: try Deflate.compress(GlyphlessFont.toUnicode, level: 9))
        try beginObject(descriptorID)
        try emit("<< /Type /FontDescriptor /FontName /\(name) /Flags 5 /FontBBox [0 -\(GlyphlessFont.descent) \(GlyphlessFont.advance) \(GlyphlessFont.ascent)] "
                 + "/ItalicAngle 0 /Ascent \(GlyphlessFont.ascent) /Descent -\(GlyphlessFont.descent) /CapHeight 700 /StemV 80 "
                 + "/FontFile2 \(programID) 0 R >>\nendobj\n")
        try beginObject(cidFontID)
        try emit("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /\(name) "
                 + "/CIDSystemInfo << /Registry <\(hex(try stringBytes("Adobe")))> /Ordering <\(hex(try stringBytes("Identity")))> /Supplement 0 >> "
                 + "/FontDescriptor \(descriptorID) 0 R /DW \(GlyphlessFont.advance) /CIDToGIDMap \(mapID) 0 R >>\nendobj\n")
        try beginObject(fontID)
        try emit("<< /Type /Font /Subtype /Type0 /BaseFont /\(name) /Encoding /Identity-H "
                 + "/DescendantFonts [\(cidFontID) 0 R] /ToUnicode \(toUnicodeID) 0 R >>\nendobj\n")
        glyphlessFontID = fontID
        return fontID
    }
}
