import Foundation
import ScanBridgeCore

/// What PDF/A-2b (ISO 19005-2, level B) adds to a document: XMP metadata that identifies it
/// (`pdfaid:part` 2, `conformance` B) and repeats the Info dictionary's fields, and an output
/// intent that names sRGB with the ICC profile embedded, so DeviceRGB and DeviceGray images have a
/// defined colour. The rest of what PDF/A asks is how the writer already writes: every font
/// embedded (the text layers' glyphless font), a document ID in the trailer, no LZW, no
/// transparency, no JavaScript; encryption is refused.
public enum PDFA {
    /// Where Debian's icc-profiles-free puts its sRGB profile (ICC v2, display class).
    public static let sRGBProfilePath = "/usr/share/color/icc/sRGB.icc"

    /// The sRGB profile, read once; nil when the package is missing.
    static let sRGBProfile: [UInt8]? = FileManager.default.contents(atPath: sRGBProfilePath).map { Array($0) }

    /// The XMP packet for `metadata`, its dates and fields equal to the Info dictionary's.
    static func xmp(_ metadata: PDFMetadata) -> String {
        var description = """
              <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
               <pdfaid:part>2</pdfaid:part>
               <pdfaid:conformance>B</pdfaid:conformance>
              </rdf:Description>

            """
        var xmpFields = ""
        if let v = metadata.creator { xmpFields += "   <xmp:CreatorTool>\(escape(v))</xmp:CreatorTool>\n" }
        if let v = metadata.creationDate { xmpFields += "   <xmp:CreateDate>\(date(v))</xmp:CreateDate>\n" }
        if let v = metadata.modificationDate { xmpFields += "   <xmp:ModifyDate>\(date(v))</xmp:ModifyDate>\n" }
        if !xmpFields.isEmpty {
            description += "  <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n\(xmpFields)  </rdf:Description>\n"
        }
        var pdfFields = ""
        if let v = metadata.producer { pdfFields += "   <pdf:Producer>\(escape(v))</pdf:Producer>\n" }
        if !metadata.keywords.isEmpty { pdfFields += "   <pdf:Keywords>\(escape(metadata.keywords.joined(separator: ", ")))</pdf:Keywords>\n" }
        if !pdfFields.isEmpty {
            description += "  <rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\(pdfFields)  </rdf:Description>\n"
        }
        var dcFields = ""
        if let v = metadata.title {
            dcFields += "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">\(escape(v))</rdf:li></rdf:Alt></dc:title>\n"
        }
        if let v = metadata.author { dcFields += "   <dc:creator><rdf:Seq><rdf:li>\(escape(v))</rdf:li></rdf:Seq></dc:creator>\n" }
        if let v = metadata.subject {
            dcFields += "   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">\(escape(v))</rdf:li></rdf:Alt></dc:description>\n"
        }
        if !dcFields.isEmpty {
            description += "  <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n\(dcFields)  </rdf:Description>\n"
        }
        // The padding lets an editor grow the packet in place, as XMP recommends.
        let padding = String(repeating: String(repeating: " ", count: 99) + "\n", count: 20)
        return "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
            + "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
            + description + " </rdf:RDF>\n</x:xmpmeta>\n" + padding + "<?xpacket end=\"w\"?>"
    }

    /// An XMP date: the same instant as the Info dictionary's `D:…Z`.
    static func date(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension PDFWriter {
    /// Writes the PDF/A objects (the XMP metadata stream, the sRGB profile and the output intent)
    /// and returns the catalog entries that name them.
    func writePDFAObjects(metadata: PDFMetadata) throws -> String {
        // A missing profile is the installation's fault, not the request's (code -1: a 500).
        guard let profile = PDFA.sRGBProfile else {
            throw ScanBridgeError(code: -1, message: "PDF/A needs the sRGB ICC profile at \(PDFA.sRGBProfilePath) (Debian package icc-profiles-free)")
        }
        let metadataID = allocate(), profileID = allocate(), intentID = allocate()
        try writeStream(metadataID, dictionary: "/Type /Metadata /Subtype /XML", data: Array(PDFA.xmp(metadata).utf8))
        try writeStream(profileID, dictionary: "/N 3 /Filter /FlateDecode", data: try Deflate.compress(profile, level: 9))
        try beginObject(intentID)
        try emit("<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier <\(hex(try stringBytes("sRGB IEC61966-2.1")))> "
                 + "/Info <\(hex(try stringBytes("sRGB IEC61966-2.1")))> /DestOutputProfile \(profileID) 0 R >>\nendobj\n")
        return " /Metadata \(metadataID) 0 R /OutputIntents [\(intentID) 0 R]"
    }
}
