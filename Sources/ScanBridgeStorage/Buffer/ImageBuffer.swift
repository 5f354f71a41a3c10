import Logging
import ScanBridgeCore
import ScanBridgeImaging

/// Limits of an `ImageBuffer` (configuration keys `BufferMemoryLimit` and `BufferMaxPages`).
public struct BufferLimits: Sendable, Equatable {
    /// Bytes of page content kept in memory; past it, least recently used pages spill to disk.
    public var memoryBytes: Int
    /// Pages the buffer holds at most (in memory and on disk together).
    public var maxPages: Int

    public init(memoryBytes: Int, maxPages: Int) {
        self.memoryBytes = max(0, memoryBytes)
        self.maxPages = max(1, maxPages)
    }

    /// `BufferMemoryLimit` (MB) and `BufferMaxPages` defaults.
    public static let defaults = BufferLimits(memoryBytes: 800 << 20, maxPages: 10_000)
}

/// What the API shows about one buffer page.
public struct BufferPage: Sendable, Equatable {
    /// Stable numeric id (DWT `imageId`): never reused while the buffer lives, kept by move,
    /// swap and replace.
    public var id: Int
    /// Stable string id (DWT `imageuid`).
    public var uid: String
    /// Position in the buffer, 0-based.
    public var index: Int
    public var info: PageInfo
    /// nil for raw pages.
    public var mediaType: String?
    public var byteCount: Int
    public var tags: Set<String>
    public var isSelected: Bool
    /// False while the page's content is spilled to `cache/`.
    public var isInMemory: Bool
}

/// Counters for tests, benchmarks and `GET /api/server`.
public struct BufferStatistics: Sendable, Equatable {
    public var pageCount: Int
    public var memoryLimit: Int
    /// Content bytes held in memory now (including pages being written out), and the most ever held.
    public var residentBytes: Int
    /// Bytes of pages being written to the cache right now (still in memory until written).
    public var spillingBytes: Int
    public var peakResidentBytes: Int
    public var pagesOnDisk: Int
    /// Content bytes of the pages that are only on disk (spilled, not in memory).
    public var bytesOnDisk: Int
    /// Page files written to `cache/` and read back since the buffer opened.
    public var spillWrites: Int
    public var reloads: Int
    /// Stale cache folders of crashed runs removed when this buffer opened.
    public var staleFoldersRemoved: Int
}

/// The image buffer: ordered pages with stable ids, tags and a selection, held in memory up to a
/// limit and spilled, least recently used first, to encrypted files in `cache/` past it.
///
/// Producers (scan jobs) `append` pages as they arrive; an append waits only for the spill writes
/// needed to get back under the limit, never for a client. Spilled pages come back byte-exact on
/// demand. Cache files are AES-256-GCM sealed under a random key that exists only in this
/// process, and are removed by `removeAll()`, `close()` and, after a crash, the next `open`.
/// File I/O runs on the buffer's own I/O thread (`BlockingQueue`).
public actor ImageBuffer {
    private enum Residence {
        /// In memory; `file` is a clean copy already in the cache (dropping it costs no write).
        case memory(Page, file: String?)
        /// In memory while its cache file is being written (`ticket` matches the write).
        case spilling(Page, ticket: Int)
        case disk(file: String)
        /// Only in a job's page journal (a page recovered after a restart): read from there.
        case journal(JournaledPage)
    }

    private struct Entry {
        var id: Int
        var uid: String
        var info: PageInfo
        var mediaType: String?
        var byteCount: Int
        var tags: Set<String> = []
        var selected = false
        var residence: Residence
        /// Forms made from the content when the page arrived, kept beside it while it is in
        /// memory; dropped when the page spills or is replaced.
        var derived: PageDerivatives
        var lastUse: UInt64
    }

    private enum State {
        case open(CacheFolder)
        case closed
    }

    private var state: State
    private let limits: BufferLimits
    private let queue: BlockingQueue
    private let key: [UInt8]
    private let logger: Logger

    private var order: [Int] = []
    private var entries: [Int: Entry] = [:]
    private var idsByUID: [String: Int] = [:]
    private var nextID = 1
    private var clock: UInt64 = 0
    private var nextTicket = 1
    private var residentBytes = 0
    private var spillingBytes = 0
    /// The spill writes started last (each batch waits for the one before, so awaiting this one
    /// awaits them all); its value is the first error of the batch.
    private var spillTask: Task<ScanBridgeError?, Never>?
    private var statistics: BufferStatistics

    private init(folder: CacheFolder, staleRemoved: Int, limits: BufferLimits, queue: BlockingQueue, key: [UInt8], logger: Logger) {
        state = .open(folder)
        self.limits = limits
        self.queue = queue
        self.key = key
        self.logger = logger
        statistics = BufferStatistics(pageCount: 0, memoryLimit: limits.memoryBytes, residentBytes: 0, spillingBytes: 0, peakResidentBytes: 0,
                                      pagesOnDisk: 0, bytesOnDisk: 0, spillWrites: 0, reloads: 0, staleFoldersRemoved: staleRemoved)
    }

    /// Opens a buffer whose spilled pages live in a new folder under `cacheFolder` (the service's
    /// `cache/`), first removing folders left there by runs that crashed.
    public static func open(cacheFolder: String, limits: BufferLimits = .defaults,
                            logger: Logger = Logger(label: "scanbridge.buffer")) async throws(ScanBridgeError) -> ImageBuffer {
        let queue = BlockingQueue(label: "sb-buffer-io")
        let key: [UInt8]
        do { key = try Crypto.randomBytes(Crypto.keyLength) } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot create the buffer's cache key.", cause: .init(code: 0, message: error.operation))
        }
        let result: Result<(CacheFolder, Int), ScanBridgeError>
        do {
            result = try await queue.run { () -> Result<(CacheFolder, Int), ScanBridgeError> in
                do throws(ScanBridgeError) { return .success(try CacheFolder.create(in: cacheFolder)) } catch { return .failure(error) }
            }
        } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot prepare the cache folder \(cacheFolder).")
        }
        let (folder, removed) = try result.get()
        if removed > 0 { logger.info("Removed \(removed) cache folder(s) left by a previous run", metadata: ["cache": "\(cacheFolder)"]) }
        return ImageBuffer(folder: folder, staleRemoved: removed, limits: limits, queue: queue, key: key, logger: logger)
    }

    // MARK: Reading

    public var count: Int { order.count }

    public var stats: BufferStatistics {
        var result = statistics
        result.pageCount = order.count
        result.residentBytes = residentBytes
        result.spillingBytes = spillingBytes
        // Spilled to cache/ only: journaled pages are counted by their journal, not the buffer.
        let onDisk = entries.values.filter { if case .disk = $0.residence { true } else { false } }
        result.pagesOnDisk = onDisk.count
        result.bytesOnDisk = onDisk.reduce(0) { $0 + $1.byteCount }
        return result
    }

    /// Every page in order.
    public func pages() -> [BufferPage] {
        order.enumerated().map { describe(entries[$0.element]!, index: $0.offset) }
    }

    public func page(id: Int) throws(ScanBridgeError) -> BufferPage {
        let entry = try entry(id)
        return describe(entry, index: order.firstIndex(of: id)!)
    }

    public func page(uid: String) throws(ScanBridgeError) -> BufferPage {
        try page(id: id(uid: uid))
    }

    public func page(at index: Int) throws(ScanBridgeError) -> BufferPage {
        try checkIndex(index)
        return describe(entries[order[index]]!, index: index)
    }

    /// The id of the page with this uid.
    public func id(uid: String) throws(ScanBridgeError) -> Int {
        guard let id = idsByUID[uid] else { throw Self.noSuchImage("uid \(uid.prefix(64))") }
        return id
    }

    /// The id of the page at `index`.
    public func id(at index: Int) throws(ScanBridgeError) -> Int {
        try checkIndex(index)
        return order[index]
    }

    /// The page's content, byte-exact as it was stored; read back from `cache/` when spilled.
    public func content(id: Int) async throws(ScanBridgeError) -> Page {
        try checkOpen()
        var entry = try entry(id)
        clock += 1
        entry.lastUse = clock
        entries[id] = entry
        switch entry.residence {
        case .memory(let page, _), .spilling(let page, _):
            return page
        case .journal(let journaled):
            let page = try await runIO { () throws(ScanBridgeError) -> Page in try journaled.read() }
            statistics.reloads += 1
            return page
        case .disk(let file):
            guard case .open(let folder) = state else { throw Self.closedError }
            let path = folder.filePath(file), key = key, aad = Array(file.utf8)
            let result = try await runIO { () throws(ScanBridgeError) -> Page in
                let parts: (header: [UInt8], payload: [UInt8])
                do throws(Container.Failure) { parts = try Container.read(path: path, key: key, aad: aad) } catch {
                    throw .container(error, writing: false, what: "the cached page \(file)")
                }
                guard let page = Page(header: parts.header, payload: parts.payload) else {
                    throw .storage(StorageErrorCode.readFailed, "The cached page \(file) is damaged.")
                }
                return page
            }
            statistics.reloads += 1
            // Re-admit it as a clean page (its file stays), if nothing changed meanwhile.
            if var current = entries[id], case .disk(let currentFile) = current.residence, currentFile == file {
                current.residence = .memory(result, file: file)
                entries[id] = current
                addResident(result.byteCount)
                startSpilling()
            }
            return result
        }
    }

    public func content(at index: Int) async throws(ScanBridgeError) -> Page {
        try await content(id: id(at: index))
    }

    public func content(uid: String) async throws(ScanBridgeError) -> Page {
        try await content(id: id(uid: uid))
    }

    /// The derived forms given with the page when it was added (see `append`), while the page
    /// is in memory and unchanged since; `.none` otherwise (the caller then works from `content`).
    public func derived(id: Int) throws(ScanBridgeError) -> PageDerivatives {
        try checkOpen()
        var entry = try entry(id)
        guard entry.derived != .none else { return .none }
        clock += 1
        entry.lastUse = clock
        entries[id] = entry
        return entry.derived
    }

    /// `derived(id:)`'s stored form.
    public func storedForm(id: Int) throws(ScanBridgeError) -> Page? {
        try derived(id: id).storedForm
    }

    // MARK: Adding and replacing

    /// Adds a page at the end and starts writing least recently used pages out if memory is now
    /// over the limit, without waiting for those writes. The next append waits for them (only
    /// if they are still running), so a producer is slowed to the disk's pace, never to a
    /// client's. Fails with `bufferFull` at the page limit, and with `writeFailed` (cause: the
    /// system error, e.g. ENOSPC) when memory is over the limit and spilling is impossible: the
    /// new page is then not added and every page added before stays.
    ///
    /// `derived` holds forms of a raw page that a producer made anyway (a scan job encodes and
    /// reduces each page as it arrives, in parallel with the scanner): `derived(id:)` hands them
    /// out so that clients asking for them get them without another pass over the page. They
    /// count against the memory limit and are dropped, not written, when the page spills.
    @discardableResult
    public func append(_ page: Page, derived: PageDerivatives = .none, tags: Set<String> = []) async throws(ScanBridgeError) -> BufferPage {
        try await insert(page, at: nil, tags: tags, derived: derived)
    }

    /// Adds a page at `index` (0…count), like `append`.
    @discardableResult
    public func insert(_ page: Page, at index: Int, tags: Set<String> = []) async throws(ScanBridgeError) -> BufferPage {
        try await insert(page, at: Optional(index), tags: tags, derived: .none)
    }

    /// Adds pages recovered from a page journal at the end, under the ids and uids they were
    /// announced with (ids later pages get stay above them). Their content stays in the journal
    /// until asked for. A page whose id or uid is taken is left out; returns those added.
    @discardableResult
    public func restore(_ journaled: [JournaledPage], tags: Set<String>) throws(ScanBridgeError) -> [BufferPage] {
        try checkOpen()
        var added: [BufferPage] = []
        for page in journaled {
            guard let info = page.meta.info, page.meta.id > 0, entries[page.meta.id] == nil, idsByUID[page.meta.uid] == nil,
                  order.count < limits.maxPages else { continue }
            clock += 1
            let entry = Entry(id: page.meta.id, uid: page.meta.uid, info: info, mediaType: page.meta.mediaType,
                              byteCount: page.meta.byteCount, tags: tags, residence: .journal(page), derived: .none, lastUse: clock)
            entries[entry.id] = entry
            idsByUID[entry.uid] = entry.id
            order.append(entry.id)
            nextID = max(nextID, entry.id + 1)
            added.append(describe(entry, index: order.count - 1))
        }
        return added
    }

    private func insert(_ page: Page, at requested: Int?, tags: Set<String>, derived: PageDerivatives) async throws(ScanBridgeError) -> BufferPage {
        try checkOpen()
        // Back-pressure: the previous spill writes first. If memory is still over the limit
        // after them (they failed, or other calls added content), try once more and wait.
        _ = await waitForSpills()
        if overLimit {
            startSpilling()
            let failure = await waitForSpills()
            if overLimit {
                throw failure ?? .storage(StorageErrorCode.writeFailed, "The buffer is over its memory limit and cannot spill pages to disk.")
            }
        }
        try checkOpen()
        guard order.count < limits.maxPages else {
            throw .storage(StorageErrorCode.bufferFull, "The buffer holds its maximum of \(limits.maxPages) pages (BufferMaxPages); remove pages first.")
        }
        let index = requested ?? order.count
        guard index >= 0, index <= order.count else { throw Self.outOfRange(index, count: order.count + 1) }
        let id = nextID
        nextID += 1
        var uid = Identifier.random()
        while idsByUID[uid] != nil { uid = Identifier.random() }
        clock += 1
        let entry = Entry(id: id, uid: uid, info: page.info, mediaType: page.mediaType, byteCount: page.byteCount,
                          tags: tags, residence: .memory(page, file: nil), derived: derived, lastUse: clock)
        entries[id] = entry
        idsByUID[uid] = id
        order.insert(id, at: index)
        addResident(page.byteCount + derived.byteCount)
        startSpilling()
        return describe(entry, index: index)
    }

    /// Replaces a page's content (after an edit); id, uid, tags and selection stay.
    @discardableResult
    public func replace(id: Int, with page: Page) async throws(ScanBridgeError) -> BufferPage {
        try checkOpen()
        var entry = try entry(id)
        releaseContent(of: entry)
        clock += 1
        entry.info = page.info
        entry.mediaType = page.mediaType
        entry.byteCount = page.byteCount
        entry.residence = .memory(page, file: nil)
        entry.derived = .none
        entry.lastUse = clock
        entries[id] = entry
        addResident(page.byteCount)
        startSpilling()
        guard let current = entries[id], let position = order.firstIndex(of: id) else { throw Self.noSuchImage("id \(id)") }
        return describe(current, index: position)
    }

    // MARK: Removing and reordering

    public func remove(id: Int) throws(ScanBridgeError) {
        _ = try entry(id)
        drop(id)
    }

    public func remove(ids: [Int]) throws(ScanBridgeError) {
        for id in ids { _ = try entry(id) }
        for id in Set(ids) { drop(id) }
    }

    /// Removes every page and its cache file; returns once the files are gone. Ids are not
    /// reused afterwards.
    public func removeAll() async {
        for id in order { drop(id) }
        _ = try? await queue.run {}   // the serial queue has run every deletion queued before
    }

    /// Moves the page at `from` so that it ends up at index `to`.
    public func move(from: Int, to: Int) throws(ScanBridgeError) {
        try checkIndex(from)
        try checkIndex(to)
        let id = order.remove(at: from)
        order.insert(id, at: to)
    }

    public func swap(_ first: Int, _ second: Int) throws(ScanBridgeError) {
        try checkIndex(first)
        try checkIndex(second)
        order.swapAt(first, second)
    }

    // MARK: Tags and selection

    public func addTag(_ tag: String, to ids: [Int]) throws(ScanBridgeError) {
        for id in ids { _ = try entry(id) }
        for id in ids { entries[id]!.tags.insert(tag) }
    }

    public func removeTag(_ tag: String, from ids: [Int]) throws(ScanBridgeError) {
        for id in ids { _ = try entry(id) }
        for id in ids { entries[id]!.tags.remove(tag) }
    }

    /// Ids of the pages carrying `tag`, in buffer order.
    public func ids(taggedWith tag: String) -> [Int] {
        order.filter { entries[$0]!.tags.contains(tag) }
    }

    /// Makes `ids` the selection (replacing the previous one).
    public func select(_ ids: [Int]) throws(ScanBridgeError) {
        for id in ids { _ = try entry(id) }
        let chosen = Set(ids)
        for id in order { entries[id]!.selected = chosen.contains(id) }
    }

    /// Selected ids in buffer order.
    public var selection: [Int] { order.filter { entries[$0]!.selected } }

    // MARK: Lifecycle

    /// Waits until every spill write started so far has finished; nil, or the first error among
    /// them (the pages concerned stay in memory).
    @discardableResult
    public func flush() async -> ScanBridgeError? {
        await waitForSpills()
    }

    /// Removes every page and the buffer's cache folder. Idempotent; later calls fail with `closed`.
    public func close() async {
        guard case .open(let folder) = state else { return }
        state = .closed
        _ = await waitForSpills()
        order.removeAll()
        entries.removeAll()
        idsByUID.removeAll()
        residentBytes = 0
        spillingBytes = 0
        _ = try? await queue.run { folder.remove() }
    }

    // MARK: Memory limit

    private var overLimit: Bool { residentBytes - spillingBytes > limits.memoryBytes }

    /// Starts spilling least recently used pages until memory (not counting pages being written
    /// out) is back under the limit, and returns at once. Clean pages (their file is already in
    /// the cache) are dropped without a write; dirty ones are written on the buffer's queue by a
    /// task that `waitForSpills` awaits.
    private func startSpilling() {
        guard case .open(let folder) = state else { return }
        var writes: [(id: Int, ticket: Int, file: String, page: Page)] = []
        while overLimit {
            guard let victim = leastRecentlyUsedInMemory() else { break }
            var entry = entries[victim]!
            guard case .memory(let page, let file) = entry.residence else { break }
            residentBytes -= entry.derived.byteCount
            entry.derived = .none
            if let file {
                entry.residence = .disk(file: file)
                entries[victim] = entry
                residentBytes -= entry.byteCount
                continue
            }
            let ticket = nextTicket
            nextTicket += 1
            entry.residence = .spilling(page, ticket: ticket)
            entries[victim] = entry
            spillingBytes += entry.byteCount
            writes.append((victim, ticket, "\(entry.id)-\(ticket).page", page))
        }
        guard !writes.isEmpty else { return }
        let previous = spillTask, key = key, queue = queue
        let logger = logger
        spillTask = Task {
            _ = await previous?.value   // in order; its errors were its waiters' to see
            var firstError: ScanBridgeError?
            for write in writes {
                let path = folder.filePath(write.file), page = write.page, aad = Array(write.file.utf8)
                let outcome: ScanBridgeError?
                do {
                    outcome = try await queue.run { () -> ScanBridgeError? in
                        let form = page.fileForm()
                        do throws(Container.Failure) {
                            try Container.write(path: path, header: form.header, payload: form.payload, key: key, aad: aad, durable: false)
                            return nil
                        } catch {
                            return .container(error, writing: true, what: "a page to the buffer cache")
                        }
                    }
                } catch {
                    outcome = .storage(StorageErrorCode.writeFailed, "Buffer I/O failed: \(error)")
                }
                self.finishSpill(id: write.id, ticket: write.ticket, file: write.file, error: outcome)
                if firstError == nil { firstError = outcome }
            }
            if let firstError { logger.error("Buffer spill failed: \(firstError)") }
            return firstError
        }
    }

    /// Waits for every spill write started so far; the first error among them, if any.
    private func waitForSpills() async -> ScanBridgeError? {
        guard let task = spillTask else { return nil }
        let failure = await task.value
        if spillTask == task { spillTask = nil }
        return failure
    }

    private func finishSpill(id: Int, ticket: Int, file: String, error: ScanBridgeError?) {
        guard var entry = entries[id], case .spilling(let page, let current) = entry.residence, current == ticket else {
            // Removed or replaced while the write ran: its file is garbage.
            if error == nil { deleteCacheFile(file) }
            return
        }
        spillingBytes -= entry.byteCount
        if error != nil {
            entry.residence = .memory(page, file: nil)
        } else {
            entry.residence = .disk(file: file)
            residentBytes -= entry.byteCount
            statistics.spillWrites += 1
        }
        entries[id] = entry
    }

    private func leastRecentlyUsedInMemory() -> Int? {
        var best: (id: Int, use: UInt64)?
        for (id, entry) in entries {
            guard case .memory = entry.residence else { continue }
            if best == nil || entry.lastUse < best!.use { best = (id, entry.lastUse) }
        }
        return best?.id
    }

    private func addResident(_ bytes: Int) {
        residentBytes += bytes
        statistics.peakResidentBytes = max(statistics.peakResidentBytes, residentBytes)
    }

    /// Forgets a page's content: memory accounting and its cache file.
    private func releaseContent(of entry: Entry) {
        residentBytes -= entry.derived.byteCount
        switch entry.residence {
        case .memory(_, let file):
            residentBytes -= entry.byteCount
            if let file { deleteCacheFile(file) }
        case .spilling:
            residentBytes -= entry.byteCount
            spillingBytes -= entry.byteCount
        case .disk(let file):
            deleteCacheFile(file)
        case .journal:
            break
        }
    }

    private func drop(_ id: Int) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        releaseContent(of: entry)
        idsByUID.removeValue(forKey: entry.uid)
        order.removeAll { $0 == id }
    }

    private func deleteCacheFile(_ name: String) {
        guard case .open(let folder) = state else { return }
        let path = folder.filePath(name)
        queue.submit { try? Posix.unlink(path) }
    }

    private func runIO<T: Sendable>(_ body: @escaping @Sendable () throws(ScanBridgeError) -> T) async throws(ScanBridgeError) -> T {
        try await queue.perform(body, failing: StorageErrorCode.readFailed, what: "Buffer I/O")
    }

    // MARK: Helpers

    private func describe(_ entry: Entry, index: Int) -> BufferPage {
        let inMemory: Bool
        switch entry.residence {
        case .disk, .journal: inMemory = false
        case .memory, .spilling: inMemory = true
        }
        return BufferPage(id: entry.id, uid: entry.uid, index: index, info: entry.info, mediaType: entry.mediaType,
                          byteCount: entry.byteCount, tags: entry.tags, isSelected: entry.selected, isInMemory: inMemory)
    }

    private func entry(_ id: Int) throws(ScanBridgeError) -> Entry {
        guard let entry = entries[id] else { throw Self.noSuchImage("id \(id)") }
        return entry
    }

    private func checkIndex(_ index: Int) throws(ScanBridgeError) {
        guard index >= 0, index < order.count else { throw Self.outOfRange(index, count: order.count) }
    }

    private func checkOpen() throws(ScanBridgeError) {
        guard case .open = state else { throw Self.closedError }
    }

    private static func noSuchImage(_ what: String) -> ScanBridgeError {
        .storage(StorageErrorCode.imageNotFound, "No page in the buffer has \(what).")
    }

    private static func outOfRange(_ index: Int, count: Int) -> ScanBridgeError {
        .storage(StorageErrorCode.indexOutOfRange, "Index \(index) is out of range: the buffer has \(count == 0 ? "no" : "0…\(count - 1)") positions.")
    }

    private static let closedError = ScanBridgeError.storage(StorageErrorCode.closed, "The buffer is closed.")
}
