import Logging
import ScanBridgeCore
import ScanBridgeImaging

/// One page of a stored document, as `GET /storage/documents/{uid}` lists it.
public struct DocumentPage: Sendable, Equatable {
    public var uid: String
    public var info: PageInfo
    /// nil for raw pages.
    public var mediaType: String?
    public var byteCount: Int
}

/// A stored document: its uid, whether it is password-protected, its pages in order.
public struct DocumentInfo: Sendable, Equatable {
    public var uid: String
    public var isEncrypted: Bool
    public var pages: [DocumentPage]
    /// Set with `updateMetadata`; PDFs made from the document default to it.
    public var metadata = DocumentMetadata()
    /// Chosen at creation (`create(password:options:)`).
    public var options = DocumentOptions()
}

/// Which page of a document: by uid or by 0-based index.
public enum PageReference: Sendable, Equatable {
    case uid(String)
    case index(Int)

    /// The REST path segment `{pageUid or 0-based index}`: all digits is an index (page uids
    /// always start with a letter), anything else a uid (validated when used).
    public init(pathSegment: String) {
        if !pathSegment.isEmpty, pathSegment.utf8.count <= 9, pathSegment.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
           let index = Int(pathSegment) {
            self = .index(index)
        } else {
            self = .uid(pathSegment)
        }
    }

    var files: DocumentFiles.PageReference {
        switch self {
        case .uid(let uid): .uid(uid)
        case .index(let index): .index(index)
        }
    }
}

/// Persistent documents under the service's `storage/` folder.
///
/// Every change is crash-safe: files are written to temporary names, fsynced, renamed into place
/// and their folder fsynced, and a document's manifest (its index) is replaced the same way as
/// the commit point. When a call returns, what it did survives `kill -9` and power loss; an
/// interrupted call leaves nothing visible, and its leftovers are removed by the next `open`.
/// Password-protected documents (≤ 32 characters) are encrypted at rest with AES-256-GCM under a
/// key derived with scrypt (N 2^15, r 8, p 1, random salt); a wrong password fails with -1043.
/// Document and page uids from clients are validated before they become part of a path, so no
/// name leaves `storage/`.
///
/// All file work runs on the store's own I/O thread (`BlockingQueue`), one operation at a time
/// (which also serialises concurrent changes to the same document). Key derivation runs before,
/// on the process's derivation thread (`KeyDerivation`), so that password checks never hold up
/// other document calls; wrong passwords in a row back off per document (`PasswordAttempts`,
/// -1044). A new password must be one a client can send back (`PasswordRules`, -2113).
public actor DocumentStore {
    private enum State {
        case open
        case closed
    }

    private var state = State.open
    private let files: DocumentFiles
    private let queue = BlockingQueue(label: "sb-documents")
    private let logger: Logger
    private var attempts: PasswordAttempts

    /// What `open` found and cleaned.
    public struct Recovery: Sendable, Equatable {
        public var documents: Int
        /// Half-created or half-deleted documents and unfinished files removed.
        public var removedTemporary: Int
        /// Page files no manifest named (written before a crash, never committed) removed.
        public var removedOrphanPages: Int
        /// Folders whose manifest could not be read; left untouched and not listed.
        public var unreadableDocuments: [String]
    }

    public nonisolated let recovery: Recovery

    private init(files: DocumentFiles, recovery: Recovery, attempts: PasswordAttempts, logger: Logger) {
        self.files = files
        self.attempts = attempts
        self.recovery = recovery
        self.logger = logger
    }

    /// Opens the store in `folder` (the service's `storage/`), creating it if needed and removing
    /// what a crash left half-done.
    /// `passwordAttempts`: the wrong-password back-off (its defaults unless a test needs others).
    public static func open(folder: String, passwordAttempts: PasswordAttempts = PasswordAttempts(),
                            logger: Logger = Logger(label: "scanbridge.documents")) async throws(ScanBridgeError) -> DocumentStore {
        let files = DocumentFiles(root: folder)
        let queue = BlockingQueue(label: "sb-doc-recovery")
        let report = try await Self.run(queue) { () throws(ScanBridgeError) in try files.recover() }
        let recovery = Recovery(documents: report.documents, removedTemporary: report.removedTemporary,
                                removedOrphanPages: report.removedOrphanPages, unreadableDocuments: report.unreadableDocuments)
        if report.removedTemporary + report.removedOrphanPages > 0 {
            logger.info("Storage recovered after an interrupted run", metadata: [
                "temporary": "\(report.removedTemporary)", "orphanPages": "\(report.removedOrphanPages)"])
        }
        if !report.unreadableDocuments.isEmpty {
            logger.error("Storage folders with an unreadable manifest were left untouched", metadata: ["folders": "\(report.unreadableDocuments)"])
        }
        return DocumentStore(files: files, recovery: recovery, attempts: passwordAttempts, logger: logger)
    }

    /// Uids of every document.
    public func documentUIDs() throws(ScanBridgeError) -> [String] {
        try checkOpen()
        return files.documentUIDs
    }

    /// Creates an empty document; with a password (≤ 32 characters; empty means none) its
    /// content is encrypted at rest; `options` are kept with it.
    /// Throws -2113 for a password that an HTTP header could not carry back (leading or
    /// trailing spaces or tabs, control characters).
    public func create(password: String? = nil, options: DocumentOptions = DocumentOptions()) async throws(ScanBridgeError) -> DocumentInfo {
        try checkOpen()
        var newKey: DocumentFiles.NewKey?
        if let password = try DocumentFiles.normalise(password) {
            try PasswordRules.checkSendable(password)
            let salt = try DocumentFiles.random(16)
            let key = try await KeyDerivation.derive(password: password, salt: salt, n: DocumentFiles.scryptN,
                                                     r: DocumentFiles.scryptR, p: DocumentFiles.scryptP)
            newKey = DocumentFiles.NewKey(password: password, salt: salt, key: key)
        }
        let prepared = newKey
        return try await perform { (files) throws(ScanBridgeError) in Self.describe(try files.create(newKey: prepared, options: options)) }
    }

    public func info(uid: String, password: String? = nil) async throws(ScanBridgeError) -> DocumentInfo {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in Self.describe(try files.unlock(uid, password: password)) }
    }

    public func delete(uid: String, password: String? = nil) async throws(ScanBridgeError) {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in try files.delete(uid, password: password) }
        attempts.forget(uid)
    }

    /// Stores `pages` at `position` (0…count; nil: at the end), all or none.
    public func insertPages(_ pages: [Page], into uid: String, at position: Int? = nil,
                            password: String? = nil) async throws(ScanBridgeError) -> DocumentInfo {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in Self.describe(try files.insert(pages, into: uid, at: position, password: password)) }
    }

    public func deletePage(_ page: PageReference, from uid: String, password: String? = nil) async throws(ScanBridgeError) -> DocumentInfo {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in Self.describe(try files.deletePage(page.files, from: uid, password: password)) }
    }

    /// Changes the document's metadata: each field `change` sets replaces the stored one, an
    /// empty string removes it. Encrypted documents keep it sealed with their key.
    public func updateMetadata(_ uid: String, with change: DocumentMetadata, password: String? = nil) async throws(ScanBridgeError) -> DocumentInfo {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in Self.describe(try files.updateMetadata(uid, with: change, password: password)) }
    }

    /// Puts the pages in the order given by their uids (each exactly once).
    public func reorder(_ uid: String, pageUIDs: [String], password: String? = nil) async throws(ScanBridgeError) -> DocumentInfo {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in Self.describe(try files.reorder(uid, pageUIDs: pageUIDs, password: password)) }
    }

    /// Moves the page at `from` to index `to`.
    public func movePage(_ uid: String, from: Int, to: Int, password: String? = nil) async throws(ScanBridgeError) -> DocumentInfo {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in
            let document = try files.unlock(uid, password: password)
            var order = document.manifest.pages.map(\.uid)
            guard order.indices.contains(from), order.indices.contains(to) else {
                throw .storage(StorageErrorCode.indexOutOfRange, "Page index out of range: the document has \(order.count) page(s).")
            }
            order.insert(order.remove(at: from), at: to)
            return Self.describe(try files.reorder(uid, pageUIDs: order, password: password))
        }
    }

    /// A page's content, byte-exact as stored.
    public func readPage(_ page: PageReference, of uid: String, password: String? = nil) async throws(ScanBridgeError) -> Page {
        try await perform(uid, password) { (files) throws(ScanBridgeError) in try files.readPage(page.files, of: uid, password: password) }
    }

    /// Refuses further calls. Nothing needs flushing: every acknowledged change is already durable.
    public func close() {
        state = .closed
    }

    // MARK: Helpers

    private func checkOpen() throws(ScanBridgeError) {
        guard case .open = state else { throw .storage(StorageErrorCode.closed, "The document store is closed.") }
    }

    /// `perform` on document `uid`, its key derived first when `password` needs one (off the
    /// store's thread), under the document's wrong-password back-off.
    private func perform<T: Sendable>(_ uid: String, _ password: String?,
                                      _ body: @escaping @Sendable (DocumentFiles) throws(ScanBridgeError) -> T) async throws(ScanBridgeError) -> T {
        try checkOpen()
        if let request = try files.keyToDerive(uid, password: password) {
            try attempts.admit(uid)
            let key = try await KeyDerivation.derive(password: request.password, salt: request.salt,
                                                     n: request.n, r: request.r, p: request.p)
            // Guesses sent together were all admitted before the first was checked: the ones
            // whose derivation ends after the document closed are refused like later ones.
            try attempts.admit(uid)
            guard files.accept(key, for: request) else {
                attempts.failed(uid)
                logger.notice("Wrong document password", metadata: ["document": "\(uid)"])
                throw .storage(StorageErrorCode.wrongPassword, "The document password is not valid.")
            }
            attempts.succeeded(uid)
        }
        return try await perform(body)
    }

    func perform<T: Sendable>(_ body: @escaping @Sendable (DocumentFiles) throws(ScanBridgeError) -> T) async throws(ScanBridgeError) -> T {
        try checkOpen()
        let files = files
        return try await Self.run(queue) { () throws(ScanBridgeError) in try body(files) }
    }

    private static func run<T: Sendable>(_ queue: BlockingQueue, _ body: @escaping @Sendable () throws(ScanBridgeError) -> T) async throws(ScanBridgeError) -> T {
        try await queue.perform(body, failing: StorageErrorCode.readFailed, what: "Storage I/O")
    }

    private static func describe(_ document: UnlockedDocument) -> DocumentInfo {
        let pages = zip(document.manifest.pages, document.details).map { ref, details in
            DocumentPage(uid: ref.uid,
                         info: PageInfo(width: details.width, height: details.height,
                                        format: PixelFormat(rawValue: details.format) ?? .rgb24,
                                        xDPI: details.xDPI, yDPI: details.yDPI),
                         mediaType: details.mediaType, byteCount: details.byteCount)
        }
        return DocumentInfo(uid: document.manifest.uid, isEncrypted: document.manifest.encryption != nil, pages: pages,
                            metadata: document.metadata, options: document.manifest.options ?? DocumentOptions())
    }
}
