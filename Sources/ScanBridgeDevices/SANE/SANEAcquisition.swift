import Foundation
import ScanBridgeCore
import ScanBridgeImaging

/// Tracks the blocking SANE call in progress, for `scannerFailureTimeout`.
final class CallWatch: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var startedAt: ContinuousClock.Instant?
    private var fired = false
    private var disarmed: BlockingResult<Void>?
    private var startPass: ReaderStartGate.Pass?

    /// Starts a watcher thread that calls `onTimeout` once if a single call runs longer than
    /// `timeout` s. It checks a few times per `timeout` (between 20 ms and 250 ms apart), on a
    /// thread of its own because `onTimeout` may make blocking SANE calls.
    func arm(timeout: Double, onTimeout: @escaping @Sendable () -> Void) {
        let disarmed = BlockingResult<Void>()
        lock.lock()
        self.disarmed = disarmed
        lock.unlock()
        let interval = Duration.seconds(max(0.02, min(0.25, timeout / 4)))
        let limit = Duration.seconds(timeout)
        NamedThread.start(name: "sane-watch") { [self] in
            while disarmed.wait(timeout: interval) == nil {
                lock.lock()
                let overdue = !fired && startedAt.map { ContinuousClock.now - $0 > limit } == true
                if overdue { fired = true }
                let pass = overdue ? startPass.take() : nil
                lock.unlock()
                if overdue {
                    // The stuck device no longer keeps the other devices of its backend waiting.
                    pass?.release()
                    onTimeout()
                }
            }
        }
    }

    func begin() {
        lock.lock()
        startedAt = .now
        lock.unlock()
    }

    func end() {
        lock.lock()
        startedAt = nil
        lock.unlock()
    }

    /// Keeps the reader-start pass of the frame being started until `releaseStartPass` (or the
    /// time-out) gives it back.
    func hold(_ pass: ReaderStartGate.Pass) {
        lock.lock()
        let previous = startPass
        startPass = pass
        lock.unlock()
        previous?.release()
    }

    /// Gives back the reader-start pass, if one is held. Cheap when none is.
    func releaseStartPass() {
        lock.lock()
        let pass = startPass.take()
        lock.unlock()
        pass?.release()
    }

    var hasFired: Bool {
        lock.lock()
        defer { lock.unlock() }
        return fired
    }

    /// Stops the watcher thread.
    func disarm() {
        lock.lock()
        let disarmed = self.disarmed
        self.disarmed = nil
        lock.unlock()
        disarmed?.fulfil(())
    }
}

/// The page loop of one scan, run on the session's device thread: `sane_start` / `sane_read`
/// per page (and per frame for three-pass scanners) until the feeder is empty, the page count
/// is reached, a fault, or a cancel. Every finished page is pushed to the buffer as soon as it
/// is complete; the buffer is finished exactly once at the end.
struct SANEAcquisition {
    let handle: SANEHandle
    let device: String
    let buffer: PageBuffer
    let watch: CallWatch
    let maxPages: Int?
    let usesFeeder: Bool
    let duplex: Bool
    let sourceKind: ScanSource.Kind?
    let resolution: Double
    /// Where page buffers come from when an earlier page's buffer is free again.
    let rasterPool: ByteArrayPool
    /// Test hook: option assignments (name, value text) to make before page N (1-based).
    let beforePage: (@Sendable (Int) -> [(String, String)])?

    /// Serialises frame starts among the devices of this scanner's backend.
    var startGate: ReaderStartGate { ReaderStartGate.of(device: handle.name) }

    /// Bytes asked of each `sane_read`.
    static let chunkSize = 256 << 10

    /// Runs the batch; returns the number of pages delivered.
    @discardableResult
    func run() -> Int {
        var delivered = 0
        // SANE: every batch ends with sane_cancel, which also ends (joins) a reader thread still
        // running, so a pass not given back yet can go after it.
        defer {
            handle.cancel()
            watch.releaseStartPass()
        }
        while true {
            if let maxPages, delivered >= maxPages { return finish(nil, delivered) }
            guard buffer.waitForRoom() else { return finish(CancellationError(), delivered) }
            let pageNumber = delivered + 1
            if let beforePage {
                for (name, text) in beforePage(pageNumber) { applyHookOption(name, text) }
            }
            switch scanPage(number: pageNumber) {
            case .page(let page):
                delivered += 1
                buffer.push(page)
                if !usesFeeder && maxPages == nil { return finish(nil, delivered) }
            case .feederEmpty:
                if delivered > 0 { return finish(nil, delivered) }
                return finish(SANEStatus.noDocuments.error(device: device, during: "starting the scan"), delivered)
            case .failed(let error):
                return finish(error, delivered)
            }
        }
    }

    private func finish(_ error: Error?, _ delivered: Int) -> Int {
        buffer.finish(error)
        return delivered
    }

    private func applyHookOption(_ name: String, _ text: String) {
        guard let option = handle.descriptors().first(where: { $0.name == name }),
              let value = try? option.parse(text) else { return }
        _ = handle.set(option, to: value)
    }

    private enum PageResult {
        case page(ScannedPage)
        case feederEmpty
        case failed(Error)
    }

    struct Frame {
        var parameters: FrameParameters
        var data: [UInt8]
    }

    private func call<T>(_ body: () -> T) -> T {
        watch.begin()
        defer { watch.end() }
        return body()
    }

    private func scanPage(number: Int) -> PageResult {
        var frames: [Frame] = []
        while true {
            if buffer.isCancelRequested || watch.hasFired { return .failed(CancellationError()) }
            guard let pass = startGate.enter(giveUp: { buffer.isCancelRequested || watch.hasFired }) else {
                return .failed(CancellationError())
            }
            watch.hold(pass)
            let status = call { handle.start() }
            // A start that failed started no reader.
            if status != .good { watch.releaseStartPass() }
            if watch.hasFired { return .failed(CancellationError()) }
            if status == .noDocuments && frames.isEmpty { return .feederEmpty }
            guard status == .good else {
                return .failed(status.error(device: device, during: "starting page \(number)"))
            }
            let parameters: FrameParameters
            switch handle.parameters() {
            case .success(let value): parameters = value
            case .failure(let failure):
                return .failed(failure.status.error(device: device, during: "reading the page parameters"))
            }
            switch readFrame(parameters, page: number) {
            case .success(let data): frames.append(Frame(parameters: parameters, data: data))
            case .failure(let error): return .failed(error)
            }
            if parameters.lastFrame || frames.count >= 3 { break }
        }
        do {
            let image = try Self.assemble(frames, resolution: resolution)
            rasterPool.track(image.pixels)
            return .page(ScannedPage(content: .raster(image), pageNumber: number, origin: origin(of: number),
                                     xDPI: resolution, yDPI: resolution))
        } catch {
            return .failed(error)
        }
    }

    private func origin(of page: Int) -> ScannedPage.Origin {
        ScannedPage.Origin.of(page: page, sourceKind: sourceKind, usesFeeder: usesFeeder)
    }

    /// Data (or an end) from `sane_read` came from this device's own reader, which has read its
    /// device by then: the backend's other devices may start frames again.
    private func readerHasStarted(_ status: SANEStatus, _ length: Int) {
        if length > 0 || status != .good { watch.releaseStartPass() }
    }

    /// Reads one frame until EOF. Handles short reads, zero-length reads (slow devices) and
    /// unknown heights (lines == -1: the buffer grows until EOF).
    private func readFrame(_ parameters: FrameParameters, page: Int) -> Result<[UInt8], Error> {
        var failure: Error?
        var ended = false
        // Known height: read straight into the page's own storage (no intermediate copy), a
        // buffer an earlier page no longer uses when there is one.
        let expected = parameters.lines > 0 ? parameters.lines * parameters.bytesPerLine : 0
        func fill(_ storage: UnsafeMutableBufferPointer<UInt8>) -> Int {
            var filled = 0
            while filled < expected {
                if buffer.isCancelRequested || watch.hasFired {
                    failure = CancellationError()
                    break
                }
                let (status, length) = call { handle.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: storage[filled..<expected]))) }
                readerHasStarted(status, length)
                filled += length
                if status == .eof {
                    ended = true
                    break
                }
                guard status == .good else {
                    failure = status.error(device: device, during: "reading page \(page)")
                    break
                }
            }
            return filled
        }
        var data: [UInt8]
        if var reused = rasterPool.take(count: expected) {
            let filled = reused.withUnsafeMutableBufferPointer { fill($0) }
            reused.removeLast(expected - filled)
            data = reused
        } else {
            data = [UInt8](unsafeUninitializedCapacity: expected) { storage, count in
                HugePages.advise(UnsafeMutableRawBufferPointer(storage))
                count = fill(storage)
            }
        }
        if let failure { return .failure(failure) }
        if ended { return .success(data) }
        // Unknown height (lines == -1), or more data than announced: grow until EOF.
        var chunk = [UInt8](repeating: 0, count: Self.chunkSize)
        while true {
            if buffer.isCancelRequested || watch.hasFired { return .failure(CancellationError()) }
            let (status, length) = chunk.withUnsafeMutableBytes { bytes in call { handle.read(into: bytes) } }
            readerHasStarted(status, length)
            if length > 0 { data.append(contentsOf: chunk[0..<length]) }
            if status == .eof { return .success(data) }
            guard status == .good else {
                return .failure(status.error(device: device, during: "reading page \(page)"))
            }
        }
    }

    /// Frames → one `Image`. Gray and RGB frames are used as they are (bw1, gray8/16, rgb24/48);
    /// three-pass RED/GREEN/BLUE frames are interleaved; 1-bit RGB is widened to rgb24.
    static func assemble(_ frames: [Frame], resolution: Double) throws -> Image {
        guard let first = frames.first else {
            throw ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "The scanner delivered no image data")
        }
        let p = first.parameters
        let width = p.pixelsPerLine
        guard p.bytesPerLine > 0, width > 0 else {
            throw ScanBridgeError(code: DeviceErrorCode.generalFailure, message: "The scanner reported an empty line size")
        }
        let unsupported = ScanBridgeError(code: DeviceErrorCode.generalFailure,
                                          message: "The scanner sent a frame ScanBridge cannot read (format \(p.format), depth \(p.depth))")
        switch p.format {
        case .gray, .rgb:
            let height = first.data.count / p.bytesPerLine
            let format: PixelFormat
            switch (p.format, p.depth) {
            case (.gray, 1): format = .bw1
            case (.gray, 8): format = .gray8
            case (.gray, 16): format = .gray16
            case (.rgb, 8): format = .rgb24
            case (.rgb, 16): format = .rgb48
            case (.rgb, 1):
                return widenRGB1(first.data, width: width, height: height, stride: p.bytesPerLine, resolution: resolution)
            default: throw unsupported
            }
            guard p.bytesPerLine >= format.minimumStride(width: width) else { throw unsupported }
            var pixels = first.data
            pixels.removeLast(pixels.count - height * p.bytesPerLine)
            return Image(width: width, height: height, format: format, stride: p.bytesPerLine,
                         xDPI: resolution, yDPI: resolution, pixels: pixels)
        case .red, .green, .blue:
            var planes: [Int: Frame] = [:]
            for frame in frames {
                switch frame.parameters.format {
                case .red: planes[0] = frame
                case .green: planes[1] = frame
                case .blue: planes[2] = frame
                default: throw unsupported
                }
            }
            guard planes.count == 3, [1, 8, 16].contains(p.depth) else { throw unsupported }
            let height = planes.values.map { $0.data.count / $0.parameters.bytesPerLine }.min() ?? 0
            let format: PixelFormat = p.depth == 16 ? .rgb48 : .rgb24
            let sampleBytes = p.depth == 16 ? 2 : 1
            let stride = width * 3 * sampleBytes
            var pixels = [UInt8](repeating: 0, count: stride * height)
            for channel in 0..<3 {
                let plane = planes[channel]!
                let bpl = plane.parameters.bytesPerLine
                plane.data.withUnsafeBufferPointer { source in
                    for y in 0..<height {
                        let row = y * bpl, out = y * stride
                        for x in 0..<width {
                            switch p.depth {
                            case 1:
                                let bit = source[row + x / 8] & (0x80 >> UInt8(x % 8))
                                pixels[out + x * 3 + channel] = bit != 0 ? 0xFF : 0
                            case 8:
                                pixels[out + x * 3 + channel] = source[row + x]
                            default:
                                pixels[out + (x * 3 + channel) * 2] = source[row + x * 2]
                                pixels[out + (x * 3 + channel) * 2 + 1] = source[row + x * 2 + 1]
                            }
                        }
                    }
                }
            }
            return Image(width: width, height: height, format: format, stride: stride,
                         xDPI: resolution, yDPI: resolution, pixels: pixels)
        case .other:
            throw unsupported
        }
    }

    /// 1-bit RGB (three bits per pixel, MSB first; a set bit is full intensity) → rgb24.
    static func widenRGB1(_ data: [UInt8], width: Int, height: Int, stride: Int, resolution: Double) -> Image {
        var pixels = [UInt8](repeating: 0, count: width * 3 * height)
        for y in 0..<height {
            for sample in 0..<(width * 3) {
                let byte = data[y * stride + sample / 8]
                pixels[y * width * 3 + sample] = byte & (0x80 >> UInt8(sample % 8)) != 0 ? 0xFF : 0
            }
        }
        return Image(width: width, height: height, format: .rgb24, xDPI: resolution, yDPI: resolution, pixels: pixels)
    }
}
