#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts OS threads that are not part of Swift's cooperative pool: for loops that wait in the
/// kernel and for blocking C calls.
public enum NamedThread {
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a detached thread running `body`, named `name` for top and gdb (the kernel keeps
    /// at most 15 bytes; longer names are cut there, at a character boundary). `stackSize` nil
    /// is the system's default (8 MiB on Debian).
    public static func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: kernelName(name), body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            _ = setThreadName(pthread_self(), start.name)
            start.body()
            return nil
        }, start)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// `name` cut to the kernel's 15 bytes without splitting a UTF-8 sequence.
    static func kernelName(_ name: String) -> String {
        var result = ""
        var bytes = 0
        for character in name.unicodeScalars {
            let length = String(character).utf8.count
            if bytes + length > 15 { break }
            bytes += length
            result.unicodeScalars.append(character)
        }
        return result
    }
}

/// glibc's `pthread_setname_np`, a GNU extension the Glibc module does not export.
@_silgen_name("pthread_setname_np")
private func setThreadName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
