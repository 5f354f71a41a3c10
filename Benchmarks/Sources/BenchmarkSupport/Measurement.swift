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

/// The machine a figure was measured on.
public enum MachineDescription {
    public static func current() -> String {
        "\(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / (1 << 30)) GiB, Linux \(kernel())"
    }

    public static func cpuModel() -> String {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    }

    public static func kernel() -> String {
        var system = utsname()
        uname(&system)
        return withUnsafeBytes(of: &system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

public func format(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
