import Glibc

/// SIGINT/SIGTERM handling without signal handlers: the signals are blocked in every thread and
/// the main thread receives them synchronously with `sigwait`, so shutdown code runs as ordinary
/// code and never inside a handler.
public enum ShutdownSignal {
    private static var set: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        return signals
    }

    /// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards.
    /// Call it first thing in `main`, before any other thread exists.
    public static func block() {
        var signals = set
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Waits on the calling thread until SIGINT or SIGTERM arrives and returns its name.
    public static func wait() -> String {
        var signals = set
        var received: Int32 = 0
        while sigwait(&signals, &received) != 0 {}
        return received == SIGINT ? "SIGINT" : "SIGTERM"
    }
}
