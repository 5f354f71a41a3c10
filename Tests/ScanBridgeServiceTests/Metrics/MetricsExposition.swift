/// The Prometheus text a registry emitted, read back for assertions: each sample by its series
/// exactly as written (`name{label="value",…}`), and the HELP and TYPE lines by metric name.
struct MetricsExposition {
    var samples: [String: Double] = [:]
    var help: [String: String] = [:]
    var type: [String: String] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                if line.hasPrefix("# HELP ") { help[parts[0]] = parts[1] } else { type[parts[0]] = parts[1] }
            } else if let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) {
                samples[String(line[..<space])] = value
            }
        }
    }

    /// A sample's value; 0 when the series is absent.
    subscript(series: String) -> Double { samples[series] ?? 0 }
}
