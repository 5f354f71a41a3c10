import CTesseract
import Foundation
import ScanBridgeCore
import ScanBridgeImaging
#if canImport(Glibc)
import Glibc
#endif

/// Where recognition runs: dedicated threads (one per core by default), never Swift's
/// cooperative pool, with one Tesseract engine per thread and language, made the first time that
/// thread reads that language and kept for the thread's life (loading a language takes longer
/// than reading a page of it).
///
/// A request cancelled before its page starts skips it; one cancelled while Tesseract reads
/// stops Tesseract at its next check (a few words later) and throws `CancellationError`.
public final class OCRPool: Sendable {
    /// One thread per core.
    public static let shared = OCRPool(threads: ProcessInfo.processInfo.activeProcessorCount)

    private let threads: DedicatedThreads
    public var threadCount: Int { threads.threadCount }

    public init(threads: Int, name: String = "sb-ocr") {
        // Tesseract's layout analysis recurses deeply on busy pages.
        self.threads = DedicatedThreads(name: name, threads: threads, stackSize: 16 << 20)
    }

    /// Reads `image` in `language` (validated with `OCRLanguages.validated` first); `progress`
    /// hears 0…100 from the recognising thread.
    public func recognize(_ image: Image, language: String,
                          progress: @escaping @Sendable (Int) -> Void = { _ in }) async throws -> OCRPage {
        let control = RecognitionControl(progress: progress)
        return try await withTaskCancellationHandler {
            try await threads.runUnlessCancelled {
                try EngineShelf.current().engine(for: language).recognize(image, control: control)
            }
        } onCancel: {
            control.cancel()
        }
    }

    /// Lets the threads exit once the queued work is done (pools other than `shared`).
    public func shutdown() { threads.stop() }
}

/// The engines of the calling thread, one per language, in thread-specific storage (released
/// when the thread ends).
private final class EngineShelf {
    private var engines: [String: TesseractEngine] = [:]

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<EngineShelf>.fromOpaque(pointer).release() }
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static func current() -> EngineShelf {
        if let pointer = pthread_getspecific(key) { return Unmanaged<EngineShelf>.fromOpaque(pointer).takeUnretainedValue() }
        let shelf = EngineShelf()
        pthread_setspecific(key, Unmanaged.passRetained(shelf).toOpaque())
        // Pages run in parallel across the pool's threads: Tesseract's OpenMP teams inside one page
        // would only compete with them for the same cores (see also OpenMPThreadLimit).
        omp_set_num_threads(1)
        return shelf
    }

    func engine(for language: String) throws -> TesseractEngine {
        if let engine = engines[language] { return engine }
        let engine = try TesseractEngine(language: language, dataPath: OCRLanguages.dataPath)
        engines[language] = engine
        return engine
    }
}
