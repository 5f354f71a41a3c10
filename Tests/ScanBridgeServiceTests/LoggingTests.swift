import Foundation
import Logging
import Testing
@testable import ScanBridgeService

@Suite("Logging")
struct LoggingTests {
    @Test("the log file rotates by size and keeps at most LogMaxFiles old files")
    func rotation() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = try RotatingLogFile(path: "\(folder)/scanbridge.log", maxFileSize: 1000, maxFiles: 3)
        let line = String(repeating: "x", count: 99) + "\n"
        for _ in 0..<100 { log.append(line) }
        log.flush()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["scanbridge.1.log", "scanbridge.2.log", "scanbridge.3.log", "scanbridge.log"])
        for name in names {
            let size = try FileManager.default.attributesOfItem(atPath: "\(folder)/\(name)")[.size] as? Int ?? 0
            #expect(size <= 1000, "\(name) is \(size) bytes")
        }
        // Nothing is lost from the files that are kept: each holds whole lines.
        let newest = try String(contentsOfFile: "\(folder)/scanbridge.1.log", encoding: .utf8)
        #expect(newest == String(repeating: line, count: 10))
    }

    @Test("DWT log levels map to swift-log levels", arguments: [(0, Logger.Level.error), (1, .info), (14, .debug), (30, .trace), (99, .trace)])
    func levels(dwt: Int, expected: Logger.Level) {
        #expect(ServiceLogLevel.swiftLogLevel(forDWT: dwt) == expected)
    }

    @Test("the handler honours the shared level and writes whole lines to the file")
    func handlerFilters() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sink = try RotatingLogFile(path: "\(folder)/scanbridge.log", maxFileSize: 1 << 20, maxFiles: 2)
        let level = ServiceLogLevel(dwtLevel: 1)
        let logger = Logger(label: "test") { ServiceLogHandler(label: $0, level: level, sink: sink) }
        logger.debug("hidden at level 1")
        logger.info("shown", metadata: ["job": "42"])
        level.dwt = 30
        logger.trace("shown at level 30")
        level.dwt = 0
        logger.info("hidden at level 0")
        logger.error("errors always show")
        sink.flush()
        let text = try String(contentsOfFile: "\(folder)/scanbridge.log", encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasSuffix("info test: shown job=42"))
        #expect(lines[1].hasSuffix("trace test: shown at level 30"))
        #expect(lines[2].hasSuffix("error test: errors always show"))
    }
}
