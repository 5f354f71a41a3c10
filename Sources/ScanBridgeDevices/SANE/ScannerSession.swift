import Foundation
import ScanBridgeCore

/// Devices open in this process, by SANE name: a second open of the same scanner is refused
/// with "scanner busy" (-1004) before SANE is even asked.
enum OpenDevices {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var names: Set<String> = []

    static func claim(_ name: String, id: String) throws {
        lock.lock()
        let inserted = names.insert(name).inserted
        lock.unlock()
        if !inserted { throw ScanBridgeError.busy(id) }
    }

    static func release(_ name: String) {
        lock.lock()
        names.remove(name)
        lock.unlock()
    }
}

/// One open scanner. Every SANE call runs on the session's own `DeviceThread`; the actor keeps
/// the session's state and re-checks it after every await.
///
/// Life cycle: `open` → (`configure` / `setOption`)* → `scan` (a page stream) → … → `close`.
/// While a scan runs, `configure`, `setOption` and a second `scan` are refused with -1011.
public actor ScannerSession {
    /// What the session is doing, for callers (job status, REST answers).
    public enum Status: Sendable, Equatable {
        case idle, scanning, failed, closed
    }

    enum State: Sendable {
        case idle
        case scanning(run: UInt64, buffer: PageBuffer)
        /// The scanner stopped answering (`scannerFailureTimeout`); only `close` remains.
        case failed(ScanBridgeError)
        case closed
    }

    public nonisolated let scanner: ScannerInfo
    /// Seconds a single blocking SANE call may take before the scan fails with -1023.
    public let scannerFailureTimeout: Double
    private(set) var state: State = .idle
    public var status: Status {
        switch state {
        case .idle: .idle
        case .scanning: .scanning
        case .failed: .failed
        case .closed: .closed
        }
    }
    public private(set) var capabilities: ScannerCapabilities
    /// The plan of the last `configure`, used by `scan()`.
    public private(set) var plan: ScanPlan?

    private let thread: DedicatedThreads
    private let handle: SANEHandle
    private let bufferLimits: PageBuffer.Limits
    private var runCounter: UInt64 = 0
    private var beforePage: (@Sendable (Int) -> [(String, String)])?
    private var rasterPool = ByteArrayPool.pageRasters

    private init(scanner: ScannerInfo, thread: DedicatedThreads, handle: SANEHandle, capabilities: ScannerCapabilities,
                 timeout: Double, bufferLimits: PageBuffer.Limits) {
        self.scanner = scanner
        self.thread = thread
        self.handle = handle
        self.capabilities = capabilities
        self.scannerFailureTimeout = timeout
        self.bufferLimits = bufferLimits
    }

    /// Opens the scanner with identity (or SANE name) `device`.
    /// - Throws: -1003 unknown device, -1004 busy (open here or in use by SANE), -1023 when
    ///   `sane_open` takes longer than `scannerFailureTimeout`.
    public static func open(_ device: String, context: SANEContext = .shared, scannerFailureTimeout: Double = 15,
                            maxBufferedPages: Int = 16,
                            maxBufferedBytes: Int = 512 << 20) async throws -> ScannerSession {
        let info = try await context.scanner(device, timeout: scannerFailureTimeout)
        try OpenDevices.claim(info.saneName, id: info.id)
        let thread = DedicatedThreads.device(name: "sane-device \(info.saneName)")
        do {
            let (handle, capabilities) = try await openOnThread(info, thread: thread, timeout: scannerFailureTimeout)
            return ScannerSession(scanner: info, thread: thread, handle: handle, capabilities: capabilities,
                                  timeout: scannerFailureTimeout,
                                  bufferLimits: .init(pages: max(1, maxBufferedPages), bytes: max(1, maxBufferedBytes)))
        } catch {
            thread.stop()
            OpenDevices.release(info.saneName)
            throw error
        }
    }

    private static func openOnThread(_ info: ScannerInfo, thread: DedicatedThreads,
                                     timeout: Double) async throws -> (SANEHandle, ScannerCapabilities) {
        try await withOneShot(timeout: .seconds(timeout),
                              timeoutError: { ScanBridgeError.scannerTimeout(info.id, seconds: timeout) }) { shot in
            thread.submit {
                switch SANEHandle.open(name: info.saneName) {
                case .success(let handle):
                    var capabilities = readCapabilities(handle)
                    if OptionDefaults.restore(handle, device: info.saneName, read: capabilities) {
                        capabilities = readCapabilities(handle)
                    }
                    // Too late: the caller gave up; do not leak the open device.
                    if !shot.resume(with: .success((handle, capabilities))) { handle.close() }
                case .failure(let failure):
                    let error: ScanBridgeError = failure.status == .invalid
                        ? ScanBridgeError(code: DeviceErrorCode.deviceNotFound,
                                          message: "The scanner \(info.id) could not be opened", cause: failure.status.cause)
                        : failure.status.error(device: info.id, during: "opening it")
                    shot.resume(with: .failure(error))
                }
            }
        }
    }

    private static func readCapabilities(_ handle: SANEHandle) -> ScannerCapabilities {
        let options = handle.descriptors()
        var values: [String: OptionValue] = [:]
        for option in options where !option.name.isEmpty && option.type != .group && option.type != .button {
            values[option.name] = handle.value(of: option)
        }
        return ScannerCapabilities(options: options, values: values)
    }

    private func requireIdle(_ action: String) throws {
        switch state {
        case .idle: return
        case .scanning: throw ScanBridgeError.outOfSequence("Cannot \(action) while a scan is running on \(scanner.id)")
        case .failed(let error): throw error
        case .closed: throw ScanBridgeError.outOfSequence("Cannot \(action): the session of \(scanner.id) is closed")
        }
    }

    /// Maps `configuration` onto the device and applies it. Returns the plan with every
    /// adjustment (from the mapping, and values the device itself rounded).
    @discardableResult
    public func configure(_ configuration: DeviceConfiguration) async throws -> ScanPlan {
        try requireIdle("configure the scanner")
        var plan = try ScanConfigurationMapper.plan(configuration, capabilities: capabilities)
        let handle = self.handle, id = scanner.id, settings = plan.settings
        let (adjustments, capabilities) = try await thread.run { () throws -> ([ConfigurationAdjustment], ScannerCapabilities) in
            var adjustments: [ConfigurationAdjustment] = []
            for setting in settings {
                let (applied, _) = try Self.apply(handle, setting.option, setting.value, device: id, field: setting.field)
                if let applied, applied != setting.value, !Self.close(applied, setting.value) {
                    adjustments.append(.init(field: setting.field, requested: setting.value.description,
                                             applied: applied.description, reason: "the scanner rounded \(setting.option)"))
                }
            }
            return (adjustments, Self.readCapabilities(handle))
        }
        try requireIdle("configure the scanner")
        plan.adjustments += adjustments
        self.capabilities = capabilities
        self.plan = plan
        return plan
    }

    /// Sets one SANE option by name (for settings blobs and tools); returns the value the device
    /// kept.
    @discardableResult
    public func setOption(_ name: String, to value: OptionValue) async throws -> OptionValue {
        try requireIdle("set \(name)")
        let handle = self.handle, id = scanner.id
        let (applied, capabilities) = try await thread.run { () throws -> (OptionValue, ScannerCapabilities) in
            let (applied, _) = try Self.apply(handle, name, value, device: id, field: name)
            return (applied ?? value, Self.readCapabilities(handle))
        }
        try requireIdle("set \(name)")
        self.capabilities = capabilities
        return applied
    }

    /// `setOption` with the value given as text (`--option name=value`), parsed for the option's type.
    @discardableResult
    public func setOption(_ name: String, text: String) async throws -> OptionValue {
        guard let option = capabilities.option(name) else {
            throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported, message: "The scanner has no option \(name)")
        }
        do {
            return try await setOption(name, to: option.parse(text))
        } catch OptionError.invalid(let message) {
            throw ScanBridgeError(code: DeviceErrorCode.valueOutOfRange, message: message)
        }
    }

    private static func close(_ a: OptionValue, _ b: OptionValue) -> Bool {
        if let x = a.number, let y = b.number { return abs(x - y) < 0.01 }
        return false
    }

    /// Sets an option on the device thread; returns the value read back.
    private static func apply(_ handle: SANEHandle, _ name: String, _ value: OptionValue, device: String,
                              field: String) throws -> (OptionValue?, SANEHandle.SetOutcome) {
        guard let option = handle.descriptors().first(where: { $0.name == name && $0.type != .group }) else {
            throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported, message: "\(field): the scanner has no option \(name)")
        }
        guard option.isActive, option.isSettable else {
            throw ScanBridgeError(code: DeviceErrorCode.capabilityNotSupported,
                                  message: "\(field): the option \(name) cannot be set now (inactive or read-only)")
        }
        let outcome = handle.set(option, to: value)
        guard outcome.status == .good else {
            throw ScanBridgeError(code: DeviceErrorCode.valueOutOfRange,
                                  message: "\(field): the scanner refused \(name) = \(value)", cause: outcome.status.cause)
        }
        let fresh = handle.descriptors().first { $0.name == name } ?? option
        return (handle.value(of: fresh), outcome)
    }

    private struct SettingsSnapshot: Codable {
        var version = 1
        var device: String
        var options: [String: OptionValue]
    }

    /// The device's current option values as DWT's opaque `settings` blob (base64 of JSON),
    /// for `GET …/scanner/settings`; `applySettings` takes it back.
    public func settingsBlob() throws -> String {
        var options: [String: OptionValue] = [:]
        for option in capabilities.options where option.holdsSettableValue {
            if let value = capabilities.values[option.name], value != .none { options[option.name] = value }
        }
        let data = try JSONEncoder().encode(SettingsSnapshot(device: scanner.id, options: options))
        return data.base64EncodedString()
    }

    /// Applies a blob made by `settingsBlob()` (the job's `settings` field). Options the device
    /// does not have, cannot set now, or refuses are reported in the result, never dropped
    /// silently.
    /// - Throws: -1010 when the blob is not one ScanBridge made.
    @discardableResult
    public func applySettings(_ blob: String) async throws -> [ConfigurationAdjustment] {
        try requireIdle("apply settings")
        guard let data = Data(base64Encoded: blob), let snapshot = try? JSONDecoder().decode(SettingsSnapshot.self, from: data) else {
            throw ScanBridgeError(code: DeviceErrorCode.valueOutOfRange, message: "The settings blob is not valid (not made by ScanBridge)")
        }
        let handle = self.handle, id = scanner.id
        let (adjustments, capabilities) = try await thread.run { () -> ([ConfigurationAdjustment], ScannerCapabilities) in
            var pending = snapshot.options
            var problems: [String: String] = [:]
            // Two passes: some options only become active once another (mode, source) is set.
            for _ in 0..<2 {
                for option in handle.descriptors() where pending[option.name] != nil {
                    guard let value = pending[option.name] else { continue }
                    do {
                        _ = try Self.apply(handle, option.name, value, device: id, field: "settings")
                        pending[option.name] = nil
                        problems[option.name] = nil
                    } catch let error as ScanBridgeError {
                        problems[option.name] = error.message
                    }
                }
            }
            let adjustments = pending.keys.sorted().map { name in
                ConfigurationAdjustment(field: "settings", requested: "\(name) = \(pending[name]!)", applied: "unchanged",
                                        reason: problems[name] ?? "the scanner has no option \(name)")
            }
            return (adjustments, Self.readCapabilities(handle))
        }
        try requireIdle("apply settings")
        self.capabilities = capabilities
        return adjustments
    }

    /// Test hook: option assignments to make on the device thread before page N of the next
    /// scans (how tests make a fault happen in the middle of a batch).
    @_spi(Testing) public func setBeforePageHook(_ hook: (@Sendable (Int) -> [(String, String)])?) {
        beforePage = hook
    }

    /// Test hook: the pool page buffers of the next scans come from (the process's by default).
    func setRasterPool(_ pool: ByteArrayPool) {
        rasterPool = pool
    }

    /// Starts a scan and returns its pages. The stream ends normally when the feeder runs empty
    /// after at least one page, after `maxPages` (default: the configured XferCount; flatbed: 1)
    /// or after the single flatbed page; it ends with a `ScanBridgeError` on a fault (every page
    /// finished before it is delivered first) and with `CancellationError` after `cancel()`.
    /// Cancelling the consuming task or dropping the stream cancels the scan.
    public func scan(maxPages: Int? = nil) throws -> AsyncThrowingStream<ScannedPage, Error> {
        try requireIdle("start a scan")
        let source = capabilities.values["source"]?.string.map(ScanSource.init(name:))
        let usesFeeder = plan?.usesFeeder ?? source?.isFeeder ?? false
        let limit = maxPages ?? plan?.maxPages ?? (usesFeeder ? nil : 1)
        let resolution = capabilities.values["resolution"]?.number ?? capabilities.values["x-resolution"]?.number ?? 0
        runCounter += 1
        let run = runCounter
        let buffer = PageBuffer(limits: bufferLimits) {}
        let watch = CallWatch()
        let id = scanner.id, timeout = scannerFailureTimeout
        watch.arm(timeout: timeout) { [weak self] in
            let error = ScanBridgeError.scannerTimeout(id, seconds: timeout)
            buffer.finish(error)
            buffer.requestCancel()
            Task { await self?.runFailed(run, error) }
        }
        let acquisition = SANEAcquisition(handle: handle, device: id, buffer: buffer, watch: watch, maxPages: limit,
                                          usesFeeder: usesFeeder, duplex: plan?.duplex ?? (source?.kind == .feederDuplex),
                                          sourceKind: source?.kind, resolution: resolution, rasterPool: rasterPool,
                                          beforePage: beforePage)
        state = .scanning(run: run, buffer: buffer)
        thread.submit { [weak self] in
            acquisition.run()
            watch.disarm()
            let timedOut = watch.hasFired
            Task { await self?.runEnded(run, timedOut: timedOut) }
        }
        return buffer.stream()
    }

    private func runEnded(_ run: UInt64, timedOut: Bool) {
        guard case .scanning(let current, _) = state, current == run else { return }
        state = timedOut ? .failed(.scannerTimeout(scanner.id, seconds: scannerFailureTimeout)) : .idle
    }

    private func runFailed(_ run: UInt64, _ error: ScanBridgeError) {
        if case .scanning(let current, _) = state, current == run { state = .failed(error) }
    }

    /// Waits until the running scan (if any) has stopped using the device.
    public func waitUntilIdle() async {
        while case .scanning = state { try? await Task.sleep(nanoseconds: 10_000_000) }
    }

    /// Cancels the running scan: the device thread calls `sane_cancel` after the `sane_read`
    /// in progress returns (well within a second for a working scanner); pages finished
    /// before stay in the stream, which then ends with `CancellationError`.
    public func cancel() {
        if case .scanning(_, let buffer) = state { buffer.requestCancel() }
    }

    /// Cancels any scan, closes the device and ends the thread. Idempotent.
    public func close() async {
        switch state {
        case .closed:
            return
        case .scanning(_, let buffer):
            buffer.requestCancel()
        case .idle, .failed:
            break
        }
        let wasFailed: Bool = if case .failed = state { true } else { false }
        state = .closed
        let handle = self.handle, name = scanner.saneName, thread = self.thread
        if wasFailed {
            // The thread may be stuck in the call that timed out: do not wait for it.
            thread.submit { handle.cancel(); handle.close(); OpenDevices.release(name) }
            thread.stop()
            return
        }
        let id = scanner.id, timeout = scannerFailureTimeout
        _ = try? await thread.run(timeout: .seconds(timeout), timeoutError: { ScanBridgeError.scannerTimeout(id, seconds: timeout) }) {
            handle.cancel()
            handle.close()
        }
        thread.stop()
        OpenDevices.release(name)
    }

    deinit {
        if case .closed = state { return }
        let handle = self.handle, name = scanner.saneName
        if case .scanning(_, let buffer) = state { buffer.requestCancel() }
        thread.submit { handle.cancel(); handle.close(); OpenDevices.release(name) }
        thread.stop()
    }
}
