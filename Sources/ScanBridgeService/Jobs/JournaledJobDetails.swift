import Foundation
import ScanBridgeDevices

/// What a job's journal records about the job itself (its first record): enough to list it
/// after a restart and to resume it on the same scanner with the same settings.
struct JournaledJobDetails: Codable, Sendable, Equatable {
    var origin: String?
    var scanner: ScannerInfo
    var adjustments: [String]
    /// The configuration applied (after `caps` were merged in) and the settings blob, if any.
    var configuration: DeviceConfiguration
    var settings: String?
    var scannerFailureTimeout: Double
    /// Pages the whole job transfers at most (nil: until the feeder is empty).
    var maxPages: Int?

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? []
    }

    static func decode(_ bytes: [UInt8]) -> JournaledJobDetails? {
        try? JSONDecoder().decode(JournaledJobDetails.self, from: Data(bytes))
    }
}
