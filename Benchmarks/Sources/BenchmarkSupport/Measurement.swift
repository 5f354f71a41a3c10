import Foundation

/// Wall-clock timing for benchmarks: best-of-N runs after a warm-up, reported with the median.
public struct Measurement: Sendable {
    public var seconds: [Double]

    public var best: Double { seconds.min() ?? 0 }
    public var median: Double {
        let sorted = seconds.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Runs `body` once to warm up, then `runs` times, timing each run.
    public static func run(runs: Int = 5, _ body: () throws -> Void) rethrows -> Measurement {
        try body()
        var seconds: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Measurement(seconds: seconds)
    }

    /// The async variant of `run`.
    public static func run(runs: Int = 5, _ body: () async throws -> Void) async rethrows -> Measurement {
        try await body()
        var seconds: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try await body()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Measurement(seconds: seconds)
    }
}

/// A Markdown table, printed for pasting into the README's performance section.
public struct ResultTable {
    public var title: String
    public var columns: [String]
    public var rows: [[String]] = []

    public init(title: String, columns: [String]) {
        self.title = title
        self.columns = columns
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        var lines = ["### \(title)", "", "| " + columns.joined(separator: " | ") + " |",
                     "|" + columns.map { _ in "---" }.joined(separator: "|") + "|"]
        lines += rows.map { "| " + $0.joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The machine a figure was measured on, for the README.
public enum MachineDescription {
    public static func current() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        var system = utsname()
        uname(&system)
        let kernel = withUnsafeBytes(of: &system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(memory) GiB, Linux \(kernel)"
    }
}

public func format(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
