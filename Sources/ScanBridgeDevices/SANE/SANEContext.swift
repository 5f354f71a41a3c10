import CDeferredCancellation
import CLibSANE
import Foundation
import ScanBridgeCore
import Synchronization

/// A scanner SANE reported, with the identity ScanBridge gives it.
public struct ScannerInfo: Sendable, Equatable, Codable {
    /// Stable identity (the DWT `device` value): the same scanner gets the same string after a
    /// restart or a replug. See `DeviceIdentity`.
    public var id: String
    /// The SANE device name to open now (for USB scanners it changes with bus positions).
    public var saneName: String
    public var vendor: String
    public var model: String
    public var type: String
    /// A human name, unique within one discovery ("Noname frontend-tester (test:0)").
    public var displayName: String

    public var backend: String { String(saneName.prefix { $0 != ":" }) }
}

/// The process-wide SANE library: `sane_init` once (on first use) and discovery.
///
/// SANE can be initialised once per process, so there is one context, `shared`; it reads
/// `SANE_CONFIG_DIR` at that moment. Discovery (`sane_get_devices`) runs on the context's own
/// thread and is cached; `scanners(refresh:timeout:)` refreshes on demand and gives up after
/// `timeout` seconds (network backends can hang), answering from the cache when it has one.
/// `sane_exit` is never called: the library lives as long as the process.
public actor SANEContext {
    public static let shared = SANEContext()

    public struct Discovery: Sendable {
        public var scanners: [ScannerInfo]
        /// When `scanners` was read from SANE.
        public var refreshedAt: Date
        /// True when the last refresh did not finish in time and `scanners` is older.
        public var stale: Bool
    }

    private enum InitState {
        case notStarted
        case initializing(Task<Int32, Error>)
        case ready(version: Int32)
    }

    let thread = DedicatedThreads.device(name: "sane-context")
    private var initState = InitState.notStarted
    private var cache: (list: [ScannerInfo], at: Date)?
    private var refresh: Task<[ScannerInfo], Error>?

    private init() {}

    /// SANE's version code once initialised (`major.minor.build`).
    public func version() async throws -> String {
        let code = try await initialize()
        return "\(sb_sane_version_major(code)).\(sb_sane_version_minor(code)).\(sb_sane_version_build(code))"
    }

    /// Calls `sane_init` once; later calls return at once.
    @discardableResult
    func initialize() async throws -> Int32 {
        switch initState {
        case .ready(let version):
            return version
        case .initializing(let task):
            return try await task.value
        case .notStarted:
            let thread = self.thread
            let task = Task {
                try await thread.run { () throws -> Int32 in
                    var version: SANE_Int = 0
                    let status = SANEStatus(sane_init(&version, nil))
                    guard status == .good else {
                        throw ScanBridgeError(code: DeviceErrorCode.generalFailure,
                                              message: "SANE could not be initialised", cause: status.cause)
                    }
                    return version
                }
            }
            initState = .initializing(task)
            do {
                let version = try await task.value
                initState = .ready(version: version)
                return version
            } catch {
                initState = .notStarted
                throw error
            }
        }
    }

    /// True when the backends SANE loads get ScanBridge's `pthread_setcanceltype`, which keeps
    /// their reader threads on deferred cancellation (`CDeferredCancellation`): sanei_thread
    /// asks for asynchronous cancellation, and a reader cancelled inside malloc/free leaves a
    /// heap lock held forever. False only in an executable linked without the export of that
    /// symbol; the service logs a warning then.
    public static var readerCancellationIsDeferred: Bool { sb_deferred_cancellation_is_active() == 1 }

    /// The scanners SANE knows. `refresh` asks SANE again (otherwise the cache answers when
    /// there is one); a refresh that takes longer than `timeout` seconds answers from the cache
    /// (`stale`), or fails with -1023 when there is none yet. A refresh already under way is
    /// joined, not repeated.
    public func discover(refresh forceRefresh: Bool = false, timeout: Double = 10) async throws -> Discovery {
        if !forceRefresh, let cache { return Discovery(scanners: cache.list, refreshedAt: cache.at, stale: false) }
        try await initialize()
        let task: Task<[ScannerInfo], Error>
        if let refresh {
            task = refresh
        } else {
            let thread = self.thread
            task = Task { try await thread.run { try Self.readDeviceList() } }
            refresh = task
            Task { [weak self] in
                let list = try? await task.value
                await self?.finishRefresh(task, list: list)
            }
        }
        do {
            let list = try await withTimeout(timeout) { try await task.value }
            // Re-check after the await: a newer refresh may have replaced this one meanwhile.
            if refresh == task {
                cache = (list, Date())
                refresh = nil
            }
            return Discovery(scanners: list, refreshedAt: cache?.at ?? Date(), stale: false)
        } catch let error as TimeoutReached {
            _ = error
            if let cache { return Discovery(scanners: cache.list, refreshedAt: cache.at, stale: true) }
            throw ScanBridgeError(code: DeviceErrorCode.deviceOffline,
                                  message: "Scanner discovery did not finish within \(formatSeconds(timeout)) s")
        }
    }

    /// Shorthand for `discover(...).scanners`.
    public func scanners(refresh: Bool = false, timeout: Double = 10) async throws -> [ScannerInfo] {
        try await discover(refresh: refresh, timeout: timeout).scanners
    }

    /// The scanner with identity `id` (or, as a convenience, with that SANE name). Refreshes the
    /// cache once when the cache does not know it.
    public func scanner(_ id: String, timeout: Double = 10) async throws -> ScannerInfo {
        let match: ([ScannerInfo]) -> ScannerInfo? = { list in
            list.first { $0.id == id } ?? list.first { $0.saneName == id }
        }
        if let found = match(try await scanners(timeout: timeout)) { return found }
        if let found = match(try await scanners(refresh: true, timeout: timeout)) { return found }
        throw ScanBridgeError.deviceNotFound(id)
    }

    private func finishRefresh(_ task: Task<[ScannerInfo], Error>, list: [ScannerInfo]?) {
        if let list { cache = (list, Date()) }
        if refresh == task { refresh = nil }
    }

    /// `sane_get_devices`, copied into Swift values. Runs on the context thread.
    private static func readDeviceList() throws -> [ScannerInfo] {
        var list: UnsafeMutablePointer<UnsafePointer<SANE_Device>?>?
        let status = SANEStatus(sane_get_devices(&list, SANE_FALSE))
        guard status == .good else {
            throw ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "SANE could not list its devices",
                                  cause: status.cause)
        }
        var raw: [DeviceIdentity.Reported] = []
        var position = 0
        while let list, let device = list[position]?.pointee {
            let text: (UnsafePointer<CChar>?) -> String = { $0.map { String(cString: $0) } ?? "" }
            raw.append(.init(name: text(device.name), vendor: text(device.vendor),
                             model: text(device.model), type: text(device.type)))
            position += 1
        }
        return DeviceIdentity.scanners(from: raw)
    }
}

struct TimeoutReached: Error {}

/// Runs `body`, giving up with `TimeoutReached` after `seconds`. Returns as soon as either
/// happens: the body's task is cancelled and left to finish on its own (it may be stuck in a
/// blocking call on a device thread, which is exactly the case this exists for; a task group
/// would wait for it).
func withTimeout<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    // The timer may fire before the body's task is stored: whichever of the two comes second
    // cancels the task.
    let work = Mutex<(task: Task<Void, Never>?, timedOut: Bool)>((nil, false))
    let cancelWork: @Sendable () -> Void = {
        let task = work.withLock { state -> Task<Void, Never>? in
            state.timedOut = true
            return state.task
        }
        task?.cancel()
    }
    return try await withOneShot(timeout: .seconds(max(0, seconds)), timeoutError: { TimeoutReached() },
                                 whenTimedOut: cancelWork) { shot in
        let task = Task {
            do {
                shot.resume(with: .success(try await body()))
            } catch {
                shot.resume(with: .failure(error))
            }
        }
        let late = work.withLock { state -> Bool in
            state.task = task
            return state.timedOut
        }
        if late { task.cancel() }
    }
}
