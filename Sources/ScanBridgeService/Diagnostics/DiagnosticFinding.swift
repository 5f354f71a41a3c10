/// One line of `scanbridge doctor`: which check, its verdict, what was found and, when the
/// verdict is not `ok`, what to do about it.
public struct DiagnosticFinding: Sendable, Equatable, Encodable {
    public enum Status: String, Sendable, Equatable, Encodable, Comparable {
        case ok
        /// Works, but something a user may trip over (a browser without the CA, no scanner on).
        case warning
        /// Something the service or a browser needs is broken.
        case fail

        private var rank: Int {
            switch self {
            case .ok: 0
            case .warning: 1
            case .fail: 2
            }
        }

        public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rank < rhs.rank }
    }

    /// A stable name a script can match: `port`, `certificate`, `browser-trust`, `sane`,
    /// `io_uring`, `service-folder`, `local-network-access`.
    public var check: String
    public var status: Status
    public var detail: String
    /// What to do; nil when the verdict is `ok`.
    public var advice: String?

    public init(check: String, status: Status, detail: String, advice: String? = nil) {
        self.check = check
        self.status = status
        self.detail = detail
        self.advice = status == .ok ? nil : advice
    }

    public static func ok(_ check: String, _ detail: String) -> DiagnosticFinding {
        DiagnosticFinding(check: check, status: .ok, detail: detail)
    }

    public static func warning(_ check: String, _ detail: String, advice: String) -> DiagnosticFinding {
        DiagnosticFinding(check: check, status: .warning, detail: detail, advice: advice)
    }

    public static func fail(_ check: String, _ detail: String, advice: String) -> DiagnosticFinding {
        DiagnosticFinding(check: check, status: .fail, detail: detail, advice: advice)
    }

    private enum CodingKeys: String, CodingKey { case check, status, detail, advice }

    /// `advice` is always present (null when there is none), so every object has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(check, forKey: .check)
        try container.encode(status, forKey: .status)
        try container.encode(detail, forKey: .detail)
        if let advice { try container.encode(advice, forKey: .advice) } else { try container.encodeNil(forKey: .advice) }
    }
}

extension Array where Element == DiagnosticFinding {
    /// The worst verdict: `fail` when any check failed, `ok` for an empty list.
    public var worstStatus: DiagnosticFinding.Status { map(\.status).max() ?? .ok }
}
