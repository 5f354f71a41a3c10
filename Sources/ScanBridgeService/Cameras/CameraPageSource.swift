import ScanBridgeDevices
import Synchronization

/// An open camera as the page source of a job: captures a frame as a page, waits `interval`,
/// captures the next, until the job's page limit, a cancel or a fault (a camera that vanishes
/// mid-stream ends the job faulted, with the pages captured before it kept).
final class CameraPageSource: JobPageSource {
    let session: CameraSession
    private let interval: Duration
    private let warmUpFrames: Int
    private let producer = Mutex<Task<Void, Never>?>(nil)

    init(session: CameraSession, interval: Duration, warmUpFrames: Int) {
        self.session = session
        self.interval = interval
        self.warmUpFrames = warmUpFrames
    }

    var deviceID: String { session.camera.id }

    func pages(maxPages: Int?) -> AsyncThrowingStream<ScannedPage, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ScannedPage.self)
        let session = self.session, interval = self.interval, warmUpFrames = self.warmUpFrames
        let task = Task {
            do {
                var number = 1
                while maxPages.map({ number <= $0 }) ?? true {
                    try Task.checkCancellation()
                    if number > 1 { try await Task.sleep(for: interval) }
                    let page = try await session.capture(pageNumber: number, skipFrames: number == 1 ? warmUpFrames : 0)
                    continuation.yield(page)
                    number += 1
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        producer.withLock { $0 = task }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func cancel() async {
        producer.withLock { $0 }?.cancel()
    }

    func close() async {
        let task = producer.withLock { $0 }
        task?.cancel()
        await task?.value
        await session.close()
    }
}
