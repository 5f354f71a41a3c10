import Foundation
import Logging
import ScanBridgeCore
import Synchronization

/// How a journaled job ended, as its `end` record says.
public struct JournaledJobEnd: Sendable, Equatable, Codable {
    public var status: String
    public var code: Int
    public var message: String

    public init(status: String, code: Int, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}

/// A job found in the journal at start-up.
public struct RecoveredJob: Sendable {
    public var uid: String
    /// The job record's meta, as the service wrote it with `begin`.
    public var details: [UInt8]
    /// Every page whose record is whole, in the order they were journaled.
    public var pages: [JournaledPage]
    /// nil when the job was still running (or pending a resume) when the service stopped.
    public var end: JournaledJobEnd?
    /// Seconds since the epoch of the journal file's last change.
    public var lastWrite: Double
    /// Records in the middle of the file whose header or meta did not check out: skipped, and
    /// the records after them kept.
    public var damagedRecords: Int
    /// Bytes cut from the end of the file: a record a crash left half-written.
    public var tornBytes: Int
}

/// The durable page journal of scan jobs, in the service's `journal/` folder.
///
/// One append-only file per job (`<job uid>.journal`): a `job` record, then one `page` record per
/// page (its stored form sealed with AES-256-GCM), then an `end` record when the job ends. A
/// record is written and fsync'd before the job announces its page, so a page a client has
/// been told about survives `kill -9`, an OOM kill and a power cut. At start-up `open` reads
/// every file up to its first torn record and cuts that one off (a crash in the middle of an
/// append); a damaged record in the middle is skipped and the ones after it kept.
///
/// The journal key (`journal/.key`, 32 random bytes, mode 0600) is kept on disk, unlike the
/// buffer cache's, because pages must open again after a restart. All file work, sealing
/// included, runs on the journal's own storage thread, one operation at a time. Records are
/// written with `O_DIRECT` (see `JournalRecord`) unless the file system refuses it, then
/// through the page cache.
public final class PageJournal: Sendable {
    static let keyName = ".key"
    static let suffix = ".journal"

    public let folder: String
    let key: [UInt8]
    let queue: BlockingQueue
    let logger: Logger
    let staging = JournalStaging()
    /// Cleared for good when the journal's file system refuses `O_DIRECT`.
    let writesDirect = Atomic<Bool>(true)

    private init(folder: String, key: [UInt8], queue: BlockingQueue, logger: Logger) {
        self.folder = folder
        self.key = key
        self.queue = queue
        self.logger = logger
    }

    /// Opens (creating) the journal folder and its key, and recovers every job file in it.
    public static func open(folder: String, logger: Logger = Logger(label: "scanbridge.journal")) async throws(ScanBridgeError) -> (PageJournal, [RecoveredJob]) {
        let queue = BlockingQueue(label: "sb-journal")
        let (key, jobs) = try await queue.perform({ () throws(ScanBridgeError) -> ([UInt8], [RecoveredJob]) in
            let key = try loadKey(folder: folder)
            return (key, recoverAll(folder: folder, key: key, logger: logger))
        }, failing: StorageErrorCode.writeFailed, what: "Opening the page journal in \(folder)")
        return (PageJournal(folder: folder, key: key, queue: queue, logger: logger), jobs)
    }

    func path(job uid: String) -> String { folder + "/" + uid + Self.suffix }

    /// Starts a job's journal file with its `job` record (`details`: what the service needs to
    /// list and resume the job), durable when this returns.
    public func begin(job uid: String, details: [UInt8]) async throws(ScanBridgeError) -> JobJournal {
        guard Identifier.isValid(uid) else { throw .storage(StorageErrorCode.writeFailed, "\(uid) cannot name a journal file.") }
        let journal = JobJournal(journal: self, job: uid)
        let path = path(job: uid), folder = folder
        try await run { () throws(ScanBridgeError) in
            do throws(SystemCallError) {
                let fd = try Posix.createFile(path)
                Posix.close(fd)
                try Posix.fsyncDirectory(folder)
            } catch {
                try? Posix.unlink(path)
                throw .file(error, writing: true, what: "the journal of job \(uid)")
            }
        }
        try await journal.append(kind: .job, meta: details, what: "the journal of job \(uid)")
        return journal
    }

    /// The journal of a recovered job, to append to when it resumes.
    public func reopen(job uid: String) -> JobJournal {
        JobJournal(journal: self, job: uid)
    }

    /// Removes a job's journal file (the job was deleted); returns once it is gone.
    public func remove(job uid: String) async {
        guard Identifier.isValid(uid) else { return }
        let path = path(job: uid), folder = folder
        _ = try? await queue.run {
            try? Posix.unlink(path)
            try? Posix.fsyncDirectory(folder)
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws(ScanBridgeError) -> T) async throws(ScanBridgeError) -> T {
        try await queue.perform(body, failing: StorageErrorCode.writeFailed, what: "Journal I/O")
    }

    // MARK: Start-up (blocking, on the journal's thread)

    static func loadKey(folder: String) throws(ScanBridgeError) -> [UInt8] {
        let path = folder + "/" + keyName
        do throws(SystemCallError) {
            try Posix.makeDirectory(folder, existingOK: true)
            if try Posix.kind(path) == .file {
                let fd = try Posix.openForReading(path)
                defer { Posix.close(fd) }
                var key = [UInt8](repeating: 0, count: Crypto.keyLength)
                let complete = try Posix.readExactly(fd, into: &key, at: 0, path)
                let size = try Posix.fileSize(fd, path)
                if complete && size == Crypto.keyLength { return key }
            }
            // No key yet, or one that is not a key (journals sealed with it cannot open anyway).
            let key: [UInt8]
            do { key = try Crypto.randomBytes(Crypto.keyLength) } catch {
                throw SystemCallError(call: "RAND_bytes", path: path, errno: EIO)
            }
            let temporary = folder + "/.key-" + Identifier.random()
            let fd = try Posix.createFile(temporary)
            do {
                try Posix.writeAll(fd, key, temporary)
                try Posix.fsync(fd, temporary)
                Posix.close(fd)
            } catch {
                Posix.close(fd)
                try? Posix.unlink(temporary)
                throw error
            }
            try Posix.rename(temporary, path)
            try Posix.fsyncDirectory(folder)
            return key
        } catch {
            throw .file(error, writing: true, what: "the journal key \(path)")
        }
    }

    static func recoverAll(folder: String, key: [UInt8], logger: Logger) -> [RecoveredJob] {
        guard let names = try? Posix.list(folder) else { return [] }
        var jobs: [RecoveredJob] = []
        for name in names.sorted() {
            if name.hasPrefix(".key-") { try? Posix.unlink(folder + "/" + name); continue }
            guard name.hasSuffix(suffix) else { continue }
            let uid = String(name.dropLast(suffix.count))
            guard Identifier.isValid(uid) else { continue }
            let reader = JournalReader(path: folder + "/" + name, job: uid, key: key)
            do throws(ScanBridgeError) {
                guard let job = try reader.recover() else {
                    // A crash between creating the file and its first record: nothing was announced.
                    try? Posix.unlink(folder + "/" + name)
                    continue
                }
                if job.damagedRecords > 0 || job.tornBytes > 0 {
                    logger.warning("Journal of job \(uid) recovered: \(job.damagedRecords) damaged record(s) skipped, \(job.tornBytes) torn byte(s) cut off",
                                   metadata: ["job": "\(uid)"])
                }
                jobs.append(job)
            } catch {
                logger.error("Journal of job \(uid) could not be read; left in place: \(error)", metadata: ["job": "\(uid)"])
            }
        }
        return jobs
    }
}

/// One job's journal: appends records to its file, each durable when the call returns.
public struct JobJournal: Sendable {
    let journal: PageJournal
    public let job: String

    init(journal: PageJournal, job: String) {
        self.journal = journal
        self.job = job
    }

    /// Journals a page (its stored form, or the page itself when it has none) under the ids it
    /// will be announced with; returns once record and page are on disk.
    @discardableResult
    public func append(page: Page, id: Int, uid: String, pageNumber: Int) async throws(ScanBridgeError) -> JournaledPage {
        let meta = JournaledPageMeta(id: id, uid: uid, pageNumber: pageNumber, page: page)
        let metaBytes: [UInt8]
        do { metaBytes = Array(try JSONEncoder().encode(meta)) } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot describe page \(pageNumber) for the journal.")
        }
        let seal = JournaledPage.Seal(page, job: job, uid: uid, key: journal.key)
        let location = try await append(kind: .page, meta: metaBytes, body: seal, what: "page \(pageNumber) to the journal of job \(job)")
        return JournaledPage(job: job, meta: meta, path: journal.path(job: job), bodyOffset: location.bodyOffset, bodyLength: seal.length, key: journal.key)
    }

    /// Records how the job ended.
    public func end(_ end: JournaledJobEnd) async throws(ScanBridgeError) {
        let meta: [UInt8]
        do { meta = Array(try JSONEncoder().encode(end)) } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot describe the end of job \(job) for the journal.")
        }
        try await append(kind: .end, meta: meta, what: "the end of job \(job) to its journal")
    }

    /// Appends one record and fsyncs the file. A failed append is cut off again, so the file
    /// ends with a whole record and later appends stay readable; it is never retried into a success
    /// (a file system that refuses direct writes gets the record again through the page cache).
    @discardableResult
    func append(kind: JournalRecord.Kind, meta: [UInt8], body: JournaledPage.Seal? = nil, what: String) async throws(ScanBridgeError) -> (recordOffset: Int, bodyOffset: Int) {
        let path = journal.path(job: job), journal = journal
        return try await journal.run { () throws(ScanBridgeError) -> (recordOffset: Int, bodyOffset: Int) in
            let direct = journal.writesDirect.load(ordering: .relaxed)
            do {
                do {
                    return try Self.append(kind: kind, meta: meta, body: body, to: path, direct: direct, staging: journal.staging)
                } catch let error as SystemCallError where direct && error.errno == EINVAL {
                    journal.refuseDirectWrites(error)
                    return try Self.append(kind: kind, meta: meta, body: body, to: path, direct: false, staging: journal.staging)
                }
            } catch let error as SystemCallError {
                throw .file(error, writing: true, what: what)
            } catch {
                throw .storage(StorageErrorCode.writeFailed, "Cannot seal \(what).", cause: .init(code: 0, message: "\(error)"))
            }
        }
    }

    /// One try at appending a record (blocking): cut off again when it fails.
    private static func append(kind: JournalRecord.Kind, meta: [UInt8], body: JournaledPage.Seal?, to path: String, direct: Bool,
                               staging: JournalStaging) throws -> (recordOffset: Int, bodyOffset: Int) {
        let fd = try Posix.openForRecords(path, direct: direct)
        defer { Posix.close(fd) }
        var start = 0
        do {
            start = try Posix.fileSize(fd, path)
            if direct && start % JournalRecord.alignment != 0 {
                // A file from before records were aligned: this record ends aligned, the next goes direct.
                try Posix.stopDirectWrites(fd, path)
            }
            let frame = JournalRecord.frame(kind: kind, meta: meta, bodyLength: body?.length ?? 0, at: start)
            var writer = JournalRecordWriter(fd: fd, path: path, offset: start, staging: staging)
            try writer.put(frame)
            try body?.write(to: &writer)
            try writer.finish()
            try Posix.fsync(fd, path)
            return (start, start + frame.count)
        } catch {
            try? Posix.truncate(fd, length: start, path)
            throw error
        }
    }
}

extension PageJournal {
    /// Whether records are written with `O_DIRECT`.
    var writesPastPageCache: Bool { writesDirect.load(ordering: .relaxed) }

    func refuseDirectWrites(_ error: SystemCallError) {
        if writesDirect.exchange(false, ordering: .relaxed) {
            logger.notice("The journal's file system refuses direct writes (\(error)); records go through the page cache")
        }
    }
}
