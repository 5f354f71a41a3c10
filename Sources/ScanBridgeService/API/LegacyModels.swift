import Foundation
import ScanBridgeCore
import ScanBridgeDevices

/// The body of the DWT 18 era's `POST /DWTAPI/ScanJobs`: `license` (the product key, in the body
/// rather than a header), `device` (what `GET /DWTAPI/Scanners` listed, or a scanner's name),
/// `config` and `caps` as in the current API. Unknown fields are ignored, as the legacy service
/// did.
struct LegacyScanJobRequest: Decodable, Sendable {
    var license: String?
    var device: LegacyDeviceReference?
    /// Some legacy clients name the scanner under `scanner` instead of `device`.
    var scanner: LegacyDeviceReference?
    var scannerFailureTimeout: Int?
    var config: DeviceConfiguration?
    var caps: CapabilitySettings?

    /// The same job as a current-API request: created and started at once, since legacy clients
    /// never start a job themselves.
    func options(device: String?) -> CreateScanJobOptions {
        CreateScanJobOptions(device: device, autoRun: true, scannerFailureTimeout: scannerFailureTimeout,
                             config: config, caps: caps)
    }
}

/// How a legacy client names a scanner: the `device` string of the scanner list, a scanner's
/// name, that list's whole entry as an object, or the entry serialized as a JSON string.
struct LegacyDeviceReference: Decodable, Sendable, Equatable {
    var text: String

    /// A listed entry (`device`, `name`), or the current API's details string (`id`, `name`).
    private struct Entry: Decodable {
        var device: String?
        var id: String?
        var name: String?

        var named: String? { device ?? id ?? name }
    }

    init(text: String) { self.text = text }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            if string.hasPrefix("{"), let entry = try? JSONDecoder().decode(Entry.self, from: Data(string.utf8)),
               let named = entry.named {
                text = named
            } else {
                text = string
            }
            return
        }
        let entry = try container.decode(Entry.self)
        guard let named = entry.named else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a scanner object needs device or name")
        }
        text = named
    }

    /// The scanner's identity: the listed `device` itself, or the id of the scanner with this
    /// display name; anything else is passed on for the job to report as unknown.
    func resolve(in scanners: [ScannerInfo]) -> String {
        if scanners.contains(where: { $0.id == text }) { return text }
        return scanners.first { $0.displayName == text }?.id ?? text
    }
}

/// A scanner as `GET /DWTAPI/Scanners` lists it: `device` is the scanner's id, which that era's
/// clients pass back unchanged (the current API's `device` is a JSON string of the details).
struct LegacyScannerEntry: Encodable, Sendable {
    var name: String
    var type: Int
    var device: String

    init(_ info: ScannerInfo) {
        name = info.displayName
        type = ScannerEntry.saneType
        device = info.id
    }
}

extension ScannerEntry {
    /// The device-type bit mask of a `type` query (decimal or 0x-hex); SANE when absent.
    static func typeMask(_ text: String?) throws(ScanBridgeError) -> Int {
        guard let text, !text.isEmpty else { return saneType }
        guard let value = Int(text) ?? (text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : nil), value >= 0 else {
            throw DWTErrors.invalidParameter("type must be a device-type bit mask such as 256 (SANE)")
        }
        return value
    }
}
