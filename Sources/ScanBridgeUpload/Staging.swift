// The staging folder (`upload/` in the service folder): every document is written there before
// it is sent (except memory-only ones), removed after success or discard, kept after a final
// failure so it can be sent again. Files are created 0600 in a 0700 folder.
// All file I/O runs on the area's own threads, never on the cooperative pool.
import Foundation
import ScanBridgeCore

#if canImport(Glibc)
import Glibc
#endif

/// What is written next to a staged document (`<id>.json`): enough to list and resend it.
/// Never holds credentials: the target is its redacted description.
struct StagedRecord: Codable, Sendable, Equatable {
    var id: UploadID
    var fileName: String
    var contentType: String
    var byteCount: Int64
    var target: String
    var created: Date
    var lastError: String?
}

final class StagingArea: Sendable {
    let folder: String
    /// Each upload has its own files, so their I/O may overlap.
    private let threads = DedicatedThreads(name: "sb-staging", threads: 2)

    init(folder: String) {
        self.folder = folder
    }

    func dataPath(_ id: UploadID) -> String { folder + "/" + id.rawValue + ".data" }
    func recordPath(_ id: UploadID) -> String { folder + "/" + id.rawValue + ".json" }

    /// Puts the document in place (bytes written to a temporary name, then renamed; a file moved
    /// in) and writes its record with the document's size. Returns the size.
    func stage(_ content: UploadDocument.Content, record: StagedRecord) async throws(ScanBridgeError) -> Int64 {
        let dataPath = dataPath(record.id)
        let recordPath = recordPath(record.id)
        let folder = self.folder
        return try await run {
            try Self.makeFolder(folder)
            var record = record
            switch content {
            case .data(let data):
                try Self.write(data, to: dataPath)
                record.byteCount = Int64(data.count)
            case .file(let path):
                try FileManager.default.moveItem(atPath: path, toPath: dataPath)
            case .memoryOnly(let data):
                return Int64(data.count)
            }
            do {
                if case .file = content {
                    _ = try Syscall.checked("chmod", path: dataPath) { chmod(dataPath, 0o600) }
                    var info = stat()
                    _ = try Syscall.checked("stat", path: dataPath) { stat(dataPath, &info) }
                    record.byteCount = Int64(info.st_size)
                }
                try Self.write(Self.encode(record), to: recordPath)
            } catch {
                // Nothing is left half-staged (a document without its record is never listed):
                // a file goes back where it came from, written bytes go.
                if case .file(let path) = content {
                    try? FileManager.default.moveItem(atPath: dataPath, toPath: path)
                } else {
                    try? FileManager.default.removeItem(atPath: dataPath)
                }
                throw error
            }
            return record.byteCount
        }
    }

    /// Rewrites the record (after a failure, with its message).
    func update(_ record: StagedRecord) async throws(ScanBridgeError) {
        let recordPath = recordPath(record.id)
        try await run { try Self.write(Self.encode(record), to: recordPath) }
    }

    /// Removes the staged document and its record (after success, or on request).
    func remove(_ id: UploadID) async throws(ScanBridgeError) {
        let paths = [dataPath(id), recordPath(id)]
        try await run {
            for path in paths where unlink(path) != 0 && errno != ENOENT {
                throw SystemCallError(call: "unlink", path: path, errno: errno)
            }
        }
    }

    /// Size of the staged document, nil when it is gone.
    func size(_ id: UploadID) async -> Int64? {
        let path = dataPath(id)
        return try? await run {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.size] as? NSNumber)?.int64Value ?? 0
        }
    }

    /// Records of documents staged earlier (e.g. by a previous run) whose data file still exists.
    func list() async -> [StagedRecord] {
        let folder = self.folder
        return (try? await run {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name -> StagedRecord? in
                guard let data = FileManager.default.contents(atPath: folder + "/" + name),
                      let record = try? Self.decoder.decode(StagedRecord.self, from: data),
                      record.id.rawValue + ".json" == name,
                      FileManager.default.fileExists(atPath: folder + "/" + record.id.rawValue + ".data")
                else { return nil }
                return record
            }
        }) ?? []
    }

    /// Replaces the file at `path` with `data`, readable by the service's user only, durably:
    /// written under a temporary name, fsync'd, then renamed, so that after a crash the file
    /// is either whole or absent (a restart can list and resend it).
    private static func write(_ data: Data, to path: String) throws(SystemCallError) {
        let temporary = path + ".partial"
        let fd = try Syscall.checked("open", path: temporary) { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        do throws(SystemCallError) {
            defer { Syscall.close(fd) }
            let failed: SystemCallError? = data.withUnsafeBytes { raw in
                var written = 0
                while written < raw.count {
                    do throws(SystemCallError) {
                        written += try Syscall.checked("write", path: temporary) { Glibc.write(fd, raw.baseAddress! + written, raw.count - written) }
                    } catch {
                        return error
                    }
                }
                return nil
            }
            if let failed { throw failed }
            _ = try Syscall.checked("fsync", path: temporary) { fsync(fd) }
        } catch {
            unlink(temporary)
            throw error
        }
        do throws(SystemCallError) {
            _ = try Syscall.checked("rename", path: path) { rename(temporary, path) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Creates the staging folder (0700) unless it exists.
    private static func makeFolder(_ folder: String) throws {
        if mkdir(folder, 0o700) == 0 || errno == EEXIST { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    private static func encode(_ record: StagedRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(record)
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws(ScanBridgeError) -> T {
        let folder = self.folder
        do {
            return try await threads.run(work)
        } catch let error as SystemCallError {
            throw ScanBridgeError(code: UploadErrorCode.stagingFailed, message: "staging folder \(folder): \(error)",
                                  cause: .init(code: Int(error.errno), message: error.systemMessage))
        } catch {
            let cause = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            throw ScanBridgeError(
                code: UploadErrorCode.stagingFailed,
                message: "staging folder \(folder): \(error.localizedDescription)",
                cause: cause.map { .init(code: $0.code, message: $0.localizedDescription) })
        }
    }
}
