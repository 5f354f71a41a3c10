import Foundation

/// The values one contender gave over the rounds of a benchmark, with the median and the spread
/// that a result reports (a median alone hides how much a shared machine moved).
public struct Samples: Codable, Sendable {
    public var values: [Double]

    public init(_ values: [Double]) { self.values = values }

    enum CodingKeys: String, CodingKey { case values, median, min, max }

    public init(from decoder: any Decoder) throws {
        values = try decoder.container(keyedBy: CodingKeys.self).decode([Double].self, forKey: .values)
    }

    /// The values with their median and spread, so that readers of the JSON need not recompute them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(values, forKey: .values)
        try container.encode(median, forKey: .median)
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
    }

    public var median: Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
    public var min: Double { values.min() ?? 0 }
    public var max: Double { values.max() ?? 0 }

    /// The same samples turned into a rate: `amount` per value (seconds → items/s).
    public func rate(_ amount: Double) -> Samples { Samples(values.map { $0 > 0 ? amount / $0 : 0 }) }

    /// "median (min–max)" with `digits` decimals.
    public func summary(digits: Int = 1) -> String {
        "\(format(median, digits: digits)) (\(format(min, digits: digits))–\(format(max, digits: digits)))"
    }
}

/// Runs contenders in turns, round after round, so that a burst of load from elsewhere on the
/// machine hits every contender alike; every other round runs them in reverse order, so that
/// going first or last (a warm cache, a cold one) favours none. The first round only warms up.
/// Each body returns the figure of its turn (seconds, or a rate it measured itself).
public enum Interleaved {
    public static func run(rounds: Int, warmUp: Bool = true,
                           _ contenders: [(name: String, body: () throws -> Double)]) throws -> [String: Samples] {
        var values: [String: [Double]] = [:]
        for round in (warmUp ? 0 : 1)...max(rounds, 1) {
            for contender in round % 2 == 0 ? contenders : contenders.reversed() {
                let value = try contender.body()
                if round > 0 { values[contender.name, default: []].append(value) }
            }
        }
        return values.mapValues(Samples.init)
    }

    public static func run(isolation: isolated (any Actor)? = #isolation, rounds: Int, warmUp: Bool = true,
                           _ contenders: [(name: String, body: () async throws -> Double)]) async throws -> [String: Samples] {
        var values: [String: [Double]] = [:]
        for round in (warmUp ? 0 : 1)...max(rounds, 1) {
            for contender in round % 2 == 0 ? contenders : contenders.reversed() {
                let value = try await contender.body()
                if round > 0 { values[contender.name, default: []].append(value) }
            }
        }
        return values.mapValues(Samples.init)
    }

    /// Seconds `body` took (wall clock).
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    public static func seconds(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Void) async rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try await body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// A second figure that each turn of `Interleaved.run` records beside the one it returns (the
/// CPU time the turn cost, say), by contender; `samples` leaves out the warm-up round as
/// `Interleaved.run` leaves it out of its own.
public final class TurnFigures {
    private var values: [String: [Double]] = [:]
    private let warmUp: Bool

    public init(warmUp: Bool = true) { self.warmUp = warmUp }

    public func record(_ value: Double, for contender: String) { values[contender, default: []].append(value) }

    public var samples: [String: Samples] { values.mapValues { Samples(Array($0.dropFirst(warmUp ? 1 : 0))) } }
}

/// The process's CPU seconds so far (user + system, every thread).
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
