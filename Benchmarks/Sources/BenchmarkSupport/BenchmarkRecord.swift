import Foundation

/// One benchmark run as JSON under `Benchmarks/results/` (or `BENCH_RESULTS_DIR`): the machine,
/// its load before and after, the commit, the date, the command and every row with each
/// contender's samples and the ratio of ours to each reference. `make bench-report` renders the
/// performance docs' tables from the newest record of each benchmark and `make bench-check`
/// compares its ratios with `Benchmarks/targets.json` (Benchmarks/bench_results.py).
public struct BenchmarkRecord: Codable, Sendable {
    public struct Machine: Codable, Sendable {
        public var description: String
        public var cpu: String
        public var cores: Int
        public var memoryGib: Int
        public var kernel: String
    }

    public struct Row: Codable, Sendable {
        /// Stable key of the row: `make bench-check` targets name it.
        public var id: String
        public var label: String
        public var unit: String
        public var values: [String: Samples]
        /// Ours against each reference, from the medians: above 1 means ours is better
        /// (faster, or smaller when the table's lower values are better).
        public var ratios: [String: Double]
    }

    public struct Table: Codable, Sendable {
        public var id: String
        public var title: String
        public var higherIsBetter: Bool
        public var contenders: [String]
        public var ours: String
        public var rows: [Row] = []

        public init(id: String, title: String, higherIsBetter: Bool = true, contenders: [String], ours: String) {
            self.id = id
            self.title = title
            self.higherIsBetter = higherIsBetter
            self.contenders = contenders
            self.ours = ours
        }

        /// Adds a row; `values` holds each contender's samples (missing contenders are left out).
        public mutating func add(id: String, label: String, unit: String, _ values: [String: Samples]) {
            var ratios: [String: Double] = [:]
            if let mine = values[ours]?.median, mine > 0 {
                for (name, samples) in values where name != ours && samples.median > 0 {
                    ratios[name] = higherIsBetter ? mine / samples.median : samples.median / mine
                }
            }
            rows.append(Row(id: id, label: label, unit: unit, values: values, ratios: ratios))
        }

        /// The table as Markdown: each cell "median (min–max)", then a ratio column per reference.
        public func markdown(digits: Int = 1) -> String {
            let references = contenders.filter { $0 != ours }
            var lines = ["### \(title)", "",
                         "| row | " + contenders.joined(separator: " | ") + " | " + references.map { "\(ours) ÷ \($0)" }.joined(separator: " | ") + " |",
                         "|" + String(repeating: "---|", count: 1 + contenders.count + references.count)]
            for row in rows {
                let cells = contenders.map { row.values[$0].map { $0.summary(digits: digits) } ?? "—" }
                let ratios = references.map { row.ratios[$0].map { format($0, digits: 2) + "×" } ?? "—" }
                lines.append("| \(row.label) (\(row.unit)) | " + (cells + ratios).joined(separator: " | ") + " |")
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    public var schema = 1
    public var benchmark: String
    public var date: String
    public var commit: String
    public var dirty: Bool
    public var command: String
    public var machine: Machine
    public var loadBefore: [Double]
    public var loadAfter: [Double] = []
    /// True when the 1-minute load before the run was under half the cores: nothing else ran.
    public var quiet: Bool
    public var rounds: Int
    public var notes: [String] = []
    public var tables: [Table] = []

    /// Starts a record now: date, commit, machine and the load before the run.
    public init(benchmark: String, rounds: Int) {
        self.benchmark = benchmark
        self.rounds = rounds
        date = ISO8601DateFormatter().string(from: Date())
        let git = Self.git(["rev-parse", "--short", "HEAD"])
        commit = git.isEmpty ? "unknown" : git
        dirty = !Self.git(["status", "--porcelain", "--untracked-files=no"]).isEmpty
        let environment = ProcessInfo.processInfo.environment.filter { $0.key.hasSuffix("_BENCH_SECONDS") || $0.key.hasSuffix("_BENCH_ROUNDS") || $0.key.hasSuffix("_BENCH_RUNS") }
        command = (environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + [URL(fileURLWithPath: CommandLine.arguments[0]).lastPathComponent] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        machine = Self.currentMachine()
        loadBefore = Self.loadAverage()
        quiet = (loadBefore.first ?? 0) < 0.5 * Double(machine.cores)
    }

    /// Records the load after, prints every table and writes the JSON file; returns its path.
    @discardableResult
    public mutating func finish() throws -> String {
        loadAfter = Self.loadAverage()
        print("\(benchmark): \(machine.description); commit \(commit)\(dirty ? " (+ uncommitted changes)" : ""); "
            + "load average before \(loadBefore.map { format($0, digits: 2) }.joined(separator: " ")), "
            + "after \(loadAfter.map { format($0, digits: 2) }.joined(separator: " "))\(quiet ? "" : " — NOT QUIET: the figures are loaded")")
        print("median (min–max) of \(rounds) interleaved rounds\n")
        for table in tables { print(table.markdown()) }
        for note in notes { print("note: \(note)") }
        let folder = ProcessInfo.processInfo.environment["BENCH_RESULTS_DIR"] ?? Self.packageFolder + "/results"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let stamp = date.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let path = "\(folder)/\(benchmark)-\(stamp).json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
        print("results: \(path)")
        return path
    }

    /// The Benchmarks/ package folder, from this file's place in it.
    static let packageFolder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func git(_ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", packageFolder] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    public static func loadAverage() -> [Double] {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    static func currentMachine() -> Machine {
        Machine(description: MachineDescription.current(), cpu: MachineDescription.cpuModel(), cores: ProcessInfo.processInfo.activeProcessorCount,
                memoryGib: Int(ProcessInfo.processInfo.physicalMemory / (1 << 30)), kernel: MachineDescription.kernel())
    }
}
