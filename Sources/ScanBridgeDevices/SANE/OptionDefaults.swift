import Synchronization

/// The option values each SANE device had when this process first opened it, put back on every
/// later open.
///
/// SANE backends keep option values in their device records for as long as the library is
/// initialised, not per `sane_open`: the test backend, for one, hands the next session the
/// `read-delay`, picture and mode the previous session set. Without this, one client's job
/// settings would leak into the next client's job on the same scanner. Only options whose value
/// differs are set, so a scanner that nobody changed costs no extra calls.
enum OptionDefaults {
    private static let recorded = Mutex<[String: [String: OptionValue]]>([:])

    /// On the device's thread, right after `sane_open`, with the capabilities just read: the
    /// first time records the device's values, every later time sets back the ones that differ.
    /// True when it set any (the caller reads the capabilities again).
    static func restore(_ handle: SANEHandle, device saneName: String, read capabilities: ScannerCapabilities) -> Bool {
        var current: [String: OptionValue] = [:]
        for option in capabilities.options where option.holdsSettableValue {
            current[option.name] = capabilities.values[option.name] ?? OptionValue.none
        }
        guard let defaults = recorded.withLock({ table in
            if let known = table[saneName] { return known }
            table[saneName] = current
            return nil
        }) else { return false }
        var pending = defaults.filter { current[$0.key] != $0.value }
        guard !pending.isEmpty else { return false }
        // Two passes: an option may only become settable once another (mode, source) is back.
        // One that cannot be set back stays as it is; the capabilities read again then say so.
        for _ in 0..<2 where !pending.isEmpty {
            for option in handle.descriptors() {
                guard let value = pending[option.name], option.isActive, option.isSettable else { continue }
                if handle.set(option, to: value).status == .good { pending[option.name] = nil }
            }
        }
        return true
    }
}
