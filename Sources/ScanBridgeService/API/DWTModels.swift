import Foundation
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeStorage

/// JSON shapes of the DWT Service REST API (field names as the public reference spells them).

/// An entry of `GET /api/device/scanners`.
struct ScannerEntry: Codable, Sendable {
    var name: String
    var type: Int
    /// A JSON string of the scanner's details (`ScannerDevice`), as Dynamsoft's OpenAPI document
    /// describes it; clients pass it back unchanged when they create a job.
    var device: String

    static let saneType = 0x100

    init(_ info: ScannerInfo) {
        name = info.displayName
        type = Self.saneType
        device = ScannerDevice(info).jsonString
    }
}

/// The details a scanner's `device` string holds. Its `id` is the stable identity
/// (`DeviceIdentity`), so the string stays the same across restarts for the same scanner;
/// `deviceInfo` carries what SANE reports, in the field names Dynamsoft's service uses.
struct ScannerDevice: Codable, Sendable, Equatable {
    struct Details: Codable, Sendable, Equatable {
        var Manufacturer: String?
        var ProductName: String?
        var ProductFamily: String?
    }

    var id: String?
    var name: String?
    var deviceType: Int?
    var deviceInfo: Details?

    init(_ info: ScannerInfo) {
        id = info.id
        name = info.displayName
        deviceType = ScannerEntry.saneType
        deviceInfo = Details(Manufacturer: info.vendor, ProductName: info.model, ProductFamily: info.type)
    }

    /// Sorted keys, no escaped slashes: one scanner always gets byte-for-byte the same string.
    var jsonString: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// What a job's `device` names. Clients send back the JSON string of the scanner list, or a
    /// bare identity (`sane:test:0`) or SANE name as older ScanBridge clients do.
    enum Reference: Equatable {
        case id(String)
        case name(String)
    }

    static func reference(_ text: String) throws(ScanBridgeError) -> Reference {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{") else { return .id(text) }
        guard let details = try? JSONDecoder().decode(ScannerDevice.self, from: Data(trimmed.utf8)) else {
            throw DWTErrors.invalidParameter("device must be a scanner's device string from GET /api/device/scanners")
        }
        if let id = details.id, !id.isEmpty { return .id(id) }
        if let name = details.name, !name.isEmpty { return .name(name) }
        throw DWTErrors.invalidParameter("device names no scanner: it has neither an id nor a name")
    }
}

/// The body of `POST /api/device/scanners/jobs`.
struct CreateScanJobOptions: Decodable, Sendable {
    var device: String?
    var autoRun: Bool?
    var jobTimeout: Int?
    var scannerFailureTimeout: Int?
    var checkFeederLoaded: Bool?
    var config: DeviceConfiguration?
    var caps: CapabilitySettings?
    var settings: String?
}

/// `caps` of a job: TWAIN capabilities by number.
struct CapabilitySettings: Decodable, Sendable {
    struct Setting: Decodable, Sendable {
        var capability: Int
        var curValue: JSONNumberOrBool
    }

    /// "ignore" (default) reports capabilities it cannot set; "fail" refuses the job.
    var exception: String?
    var capabilities: [Setting]
}

/// A capability value: TWAIN sends numbers, and booleans for the flags.
enum JSONNumberOrBool: Decodable, Sendable {
    case number(Double)
    case bool(Bool)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else {
            self = .number(try container.decode(Double.self))
        }
    }

    var number: Double {
        switch self {
        case .number(let value): value
        case .bool(let value): value ? 1 : 0
        }
    }
}

struct ScannerJobResponse: Encodable, Sendable {
    var jobuid: String
    var status: String
    /// Always present: a scanner job is created on a scanner.
    var scanner: ScannerEntry?
    /// ScanBridge addition: every requested value the device could not honour exactly.
    var adjustments: [String]
}

struct JobInfoResponse: Encodable, Sendable {
    var status: String
    var code: Int
    var message: String
}

struct JobStatusPatch: Decodable, Sendable {
    var status: String
}

/// One element of `next-page-info`'s array.
struct OutputInfo: Encodable, Sendable {
    struct Frame: Encodable, Sendable {
        var Left: Double, Top: Double, Right: Double, Bottom: Double
    }

    struct ImageLayout: Encodable, Sendable {
        var PageNumber: Int
        var DocumentNumber: Int
        var FrameNumber: Int
        var Frame: Frame
    }

    struct ImageInfo: Encodable, Sendable {
        var ImageWidth: Int
        var ImageLength: Int
        var BitsPerPixel: Int
        var BitsPerSample: [Int]
        var SamplesPerPixel: Int
        var PixelType: Int
        var XResolution: Double
        var YResolution: Double
        var Compression: Int
        var Planar: Bool
        var ImageLayout: ImageLayout
    }

    var imageId: Int
    var imageuid: String
    var imageInfo: ImageInfo
    var extendedImageInfo: [String: String]
    var url: String
}

struct DocumentInfoResponse: Encodable, Sendable {
    struct PageEntry: Encodable, Sendable { var uid: String }
    var uid: String
    var pages: [PageEntry]
    /// The document's metadata, when any is set (ScanBridge: DWT lists uid and pages only).
    var metadata: DocumentMetadata?

    init(_ info: DocumentInfo) {
        self.init(uid: info.uid, pageUIDs: info.pages.map(\.uid))
        metadata = info.metadata.isEmpty ? nil : info.metadata
    }

    init(uid: String, pageUIDs: [String]) {
        self.uid = uid
        pages = pageUIDs.map { PageEntry(uid: $0) }
    }

    /// The object `Response.json` encodes (sorted keys), written by hand: every page append
    /// answers with the whole page list, so `JSONEncoder` on it grew with the document (4 % of
    /// the service's CPU in a 500-page BW batch, perf).
    var json: [UInt8] {
        var json = JSONWriter(reservingCapacity: 32 + pages.count * 40)
        json.open("{")
        if let metadata {
            json.key("metadata"); json.open("{")
            for field in DocumentMetadata.fields.sorted(by: { $0.name < $1.name }) {
                if let value = metadata[keyPath: field.path] { json.key(field.name); json.string(value) }
            }
            json.close("}")
        }
        json.key("pages"); json.open("[")
        for page in pages {
            json.open("{"); json.key("uid"); json.string(page.uid); json.close("}")
        }
        json.close("]")
        json.key("uid"); json.string(uid)
        json.close("}")
        return json.bytes
    }
}

struct CreateDocumentOptions: Decodable, Sendable {
    var password: String?
    /// ScanBridge: an OCR language pages are read in as they are inserted (searchable PDFs).
    var ocr: String?
    /// ScanBridge: PDFs of the document are PDF/A-2b.
    var pdfa: Bool?
}

struct InsertPageOptions: Decodable, Sendable {
    var source: String
    var insertPos: Int?
    var password: String?
}

struct CheckBlankRequest: Decodable, Sendable {
    struct Settings: Decodable, Sendable {
        var minBlockHeight: Int?
        var maxBlockHeight: Int?
    }
    var source: String
    var settings: Settings?
}

struct ReadBarcodeRequest: Decodable, Sendable {
    var source: String
    var settings: BarcodeTemplate?
}

/// read-barcode's `settings`: a Dynamsoft Barcode Reader template, as an object or by name
/// ("coverage", "speed", "balance"). Accepted in either form and not applied: ZBar reads every
/// symbology it knows in one pass.
enum BarcodeTemplate: Decodable, Sendable {
    case named(String)
    case template

    /// Any JSON object, walked without keeping it.
    private struct AnyObject: Decodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            _ = try decoder.container(keyedBy: Key.self)
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let name = try? container.decode(String.self) {
            self = .named(name)
        } else {
            _ = try container.decode(AnyObject.self)
            self = .template
        }
    }
}

struct OperationResult: Encodable, Sendable {
    var result: Bool
}
