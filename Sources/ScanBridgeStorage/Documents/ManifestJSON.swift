import ScanBridgeCore

/// A document manifest as JSON, written by hand. The manifest is rewritten on every page append
/// and grows with the document, so Foundation's `JSONEncoder` on it was a tenth of the service's
/// CPU in a 500-page BW batch (perf, `make batch-bench`), and quadratic over a batch. This writes
/// the object `JSONEncoder` writes (the same keys and values, nil fields left out), which
/// `JSONDecoder` reads back as the same `Manifest` (`ManifestJSONTests` checks both).
enum ManifestJSON {
    static func encode(_ manifest: Manifest) throws(JSONWriter.NonFiniteNumber) -> [UInt8] {
        var json = JSONWriter(reservingCapacity: 256 + manifest.pages.count * 320)
        json.open("{")
        json.key("format"); json.int(manifest.format)
        json.key("uid"); json.string(manifest.uid)
        json.key("created"); try json.double(manifest.created)
        if let encryption = manifest.encryption {
            json.key("encryption"); json.open("{")
            json.key("kdf"); json.string(encryption.kdf)
            json.key("n"); json.int(encryption.n)
            json.key("r"); json.int(encryption.r)
            json.key("p"); json.int(encryption.p)
            json.key("salt"); json.string(encryption.salt)
            json.key("check"); json.string(encryption.check)
            json.close("}")
        }
        json.key("pages"); json.open("[")
        for page in manifest.pages {
            json.open("{")
            json.key("uid"); json.string(page.uid)
            json.key("file"); json.string(page.file)
            json.close("}")
        }
        json.close("]")
        if let details = manifest.details {
            json.key("details"); json.open("[")
            for page in details {
                json.open("{")
                json.key("uid"); json.string(page.uid)
                json.key("width"); json.int(page.width)
                json.key("height"); json.int(page.height)
                json.key("format"); json.string(page.format)
                json.key("xDPI"); try json.double(page.xDPI)
                json.key("yDPI"); try json.double(page.yDPI)
                if let type = page.mediaType { json.key("mediaType"); json.string(type) }
                json.key("byteCount"); json.int(page.byteCount)
                if let sha256 = page.sha256 { json.key("sha256"); json.string(sha256) }
                json.close("}")
            }
            json.close("]")
        }
        if let sealed = manifest.sealedDetails { json.key("sealedDetails"); json.string(sealed) }
        if let metadata = manifest.metadata {
            json.key("metadata"); json.open("{")
            for field in DocumentMetadata.fields {
                if let value = metadata[keyPath: field.path] { json.key(field.name); json.string(value) }
            }
            json.close("}")
        }
        if let sealed = manifest.sealedMetadata { json.key("sealedMetadata"); json.string(sealed) }
        if let options = manifest.options {
            json.key("options"); json.open("{")
            if let language = options.ocrLanguage { json.key("ocrLanguage"); json.string(language) }
            json.key("pdfA"); json.bool(options.pdfA)
            json.close("}")
        }
        json.close("}")
        return json.bytes
    }
}
