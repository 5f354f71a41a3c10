/// Stable identities for devices: the DWT `device` string.
///
/// A SANE name such as `test:0`, `net:host:pixma:…` or `escl:http://…` names the same scanner
/// every time, so it is used as is. USB names (`genesys:libusb:001:004`) carry bus and device
/// numbers that change on replug and reboot; for them the identity is backend + vendor + model
/// and, when several identical scanners are attached, their ordinal in SANE-name order.
/// Identities are plain ASCII without quotes or backslashes (JSON-safe and URL-safe after
/// percent-encoding): any other byte is written as `%XX`.
public enum DeviceIdentity {
    public struct Reported: Sendable, Equatable {
        public var name: String
        public var vendor: String
        public var model: String
        public var type: String

        public init(name: String, vendor: String, model: String, type: String) {
            self.name = name
            self.vendor = vendor
            self.model = model
            self.type = type
        }
    }

    /// True when the SANE name holds a bus position rather than a stable address.
    public static func isBusPositional(_ saneName: String) -> Bool {
        let lower = saneName.lowercased()
        return lower.contains("libusb:") || lower.contains(":usb:") || lower.contains("/dev/bus/usb")
            || lower.contains("/dev/usb/") || lower.range(of: #":\d{3}:\d{3}"#, options: .regularExpression) != nil
    }

    /// ScannerInfo for every reported device, with identities and unique display names.
    public static func scanners(from devices: [Reported]) -> [ScannerInfo] {
        var ordinals: [String: Int] = [:]
        let sortedPositional = devices.filter { isBusPositional($0.name) }.sorted { $0.name < $1.name }
        var positionalID: [String: String] = [:]
        for device in sortedPositional {
            let backend = device.name.prefix { $0 != ":" }
            let key = "\(backend):\(device.vendor):\(device.model)"
            let ordinal = ordinals[key, default: 0]
            ordinals[key] = ordinal + 1
            positionalID[device.name] = "sane:usb:" + escape(key) + (ordinal > 0 ? "#\(ordinal + 1)" : "")
        }
        let baseNames = devices.map { "\($0.vendor) \($0.model)".trimmingCharacters(in: .whitespaces) }
        return devices.enumerated().map { offset, device in
            let base = baseNames[offset].isEmpty ? device.name : baseNames[offset]
            let unique = baseNames.filter { $0 == baseNames[offset] }.count == 1
            return ScannerInfo(id: positionalID[device.name] ?? "sane:" + escape(device.name),
                               saneName: device.name, vendor: device.vendor, model: device.model, type: device.type,
                               displayName: unique ? base : "\(base) (\(device.name))")
        }
    }

    /// Percent-encodes everything but unreserved URL characters and `:` `/` `@` `+` `=` `,`.
    public static func escape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            let plain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-._~:/@+=,".unicodeScalars.contains(scalar)
            result += plain ? String(Character(scalar)) : String(format: "%%%02X", byte)
        }
        return result
    }
}

import Foundation
