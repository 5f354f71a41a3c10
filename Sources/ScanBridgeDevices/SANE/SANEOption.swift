/// What a SANE option is, in safe Swift types (read from `SANE_Option_Descriptor`).
public struct OptionDescriptor: Sendable, Equatable, Codable {
    public enum ValueType: String, Sendable, Codable { case bool, int, fixed, string, button, group }
    public enum Unit: String, Sendable, Codable { case none, pixel, bit, mm, dpi, percent, microsecond }
    public enum Constraint: Sendable, Equatable, Codable {
        case none
        /// Inclusive range; `quant` 0 means any value.
        case range(min: Double, max: Double, quant: Double)
        case numbers([Double])
        case strings([String])
    }

    /// Index for `sane_control_option`.
    public var index: Int32
    public var name: String
    public var title: String
    public var summary: String
    public var type: ValueType
    public var unit: Unit
    /// Number of values (1 for scalars, more for arrays such as gamma tables).
    public var count: Int
    /// Size in bytes of the value buffer.
    public var size: Int
    public var isActive: Bool
    public var isSettable: Bool
    public var isAdvanced: Bool
    public var constraint: Constraint

    /// A value a client can set now and read back (what settings blobs and option defaults hold).
    var holdsSettableValue: Bool { !name.isEmpty && isActive && isSettable && type != .group && type != .button }

    public init(index: Int32, name: String, title: String, summary: String, type: ValueType, unit: Unit, count: Int,
                size: Int, isActive: Bool, isSettable: Bool, isAdvanced: Bool, constraint: Constraint) {
        self.index = index
        self.name = name
        self.title = title
        self.summary = summary
        self.type = type
        self.unit = unit
        self.count = count
        self.size = size
        self.isActive = isActive
        self.isSettable = isSettable
        self.isAdvanced = isAdvanced
        self.constraint = constraint
    }

    /// Rounds `value` to the nearest value the constraint allows (ranges: clamped and quantised;
    /// lists: nearest entry). Strings are not handled here.
    public func nearestAllowed(_ value: Double) -> Double {
        switch constraint {
        case .none, .strings:
            return type == .int ? value.rounded() : value
        case .range(let low, let high, let quant):
            var result = min(max(value, low), high)
            if quant > 0 {
                result = low + ((result - low) / quant).rounded() * quant
                if result > high { result -= quant }
            }
            return type == .int ? result.rounded() : result
        case .numbers(let list):
            return list.min { abs($0 - value) < abs($1 - value) } ?? value
        }
    }

    /// The value of `text` for this option (CLI `--option name=value`): numbers, yes/no, strings
    /// matched case-insensitively against the allowed list.
    public func parse(_ text: String) throws -> OptionValue {
        switch type {
        case .bool:
            switch text.lowercased() {
            case "yes", "true", "1", "on": return .bool(true)
            case "no", "false", "0", "off": return .bool(false)
            default: throw OptionError.invalid("option \(name) takes yes or no, not \(text)")
            }
        case .int, .fixed:
            let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
                throw OptionError.invalid("option \(name) takes a number, not \(text)")
            }
            let numbers = parts.map { $0! }
            return numbers.count == 1 ? .number(numbers[0]) : .numbers(numbers)
        case .string:
            if case .strings(let allowed) = constraint {
                guard let match = allowed.first(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) else {
                    throw OptionError.invalid("option \(name) takes one of \(allowed.joined(separator: ", ")), not \(text)")
                }
                return .string(match)
            }
            return .string(text)
        case .button:
            return .none
        case .group:
            throw OptionError.invalid("\(name) is an option group, not an option")
        }
    }
}

/// A SANE option value. Ints and fixed-point values are both carried as `Double`.
public enum OptionValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case none
    case bool(Bool)
    case number(Double)
    case numbers([Double])
    case string(String)

    public var description: String {
        switch self {
        case .none: "(none)"
        case .bool(let value): value ? "yes" : "no"
        case .number(let value): formatNumber(value)
        case .numbers(let values): values.map(formatNumber).joined(separator: ",")
        case .string(let value): value
        }
    }

    public var number: Double? {
        switch self {
        case .number(let value): value
        case .numbers(let values): values.first
        default: nil
        }
    }

    public var string: String? { if case .string(let value) = self { value } else { nil } }
}

enum OptionError: Error {
    case invalid(String)
}

func formatNumber(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
    return String(format: "%.2f", value)
}

import Foundation
