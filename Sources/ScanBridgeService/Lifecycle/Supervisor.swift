import Foundation
import Glibc
import Logging

/// When and how the supervisor restarts its child.
public struct RestartPolicy: Sendable, Equatable {
    /// Delay before the first restart after a failure; doubles with each further failure.
    public var initialDelay: Duration
    /// The cap of that doubling.
    public var maximumDelay: Duration
    /// A child that ran at least this long before failing counts as healthy: the delay starts over.
    public var stableAfter: Duration
    /// How long a child may take to stop after SIGTERM before it gets SIGKILL.
    public var stopGracePeriod: Duration
    /// Exit statuses that no restart can fix (73: the service folder; 78: the configuration):
    /// the supervisor stops and exits with the same status.
    public var fatalExitStatuses: Set<Int32>

    public init(initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(30),
                stableAfter: Duration = .seconds(30), stopGracePeriod: Duration = .seconds(10),
                fatalExitStatuses: Set<Int32> = [73, 78]) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.stableAfter = stableAfter
        self.stopGracePeriod = stopGracePeriod
        self.fatalExitStatuses = fatalExitStatuses
    }

    /// The delay before restart number `failures` of an unbroken run of failures (1-based).
    public func delay(afterFailures failures: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(failures, 1) {
            delay = delay * 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}

/// How a child process ended, from `waitpid`'s status.
public enum ChildExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros; their definitions are these bit tests.
        if status & 0x7f == 0 { self = .exited((status >> 8) & 0xff) } else { self = .signaled(status & 0x7f) }
    }

    public var description: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "was killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

/// The `monitor` mode: runs one child (`scanbridge serve …`) and restarts it with capped
/// exponential backoff whenever it dies; on SIGTERM or SIGINT stops it (SIGTERM, then SIGKILL
/// after the grace period) and returns; on SIGHUP restarts it at once (e.g. after replacing the
/// certificate). Everything happens on the calling thread: signals (including SIGCHLD) are
/// blocked and received synchronously with `sigtimedwait`, so there are no signal handlers and
/// no races between a child's death and a stop request.
public final class Supervisor {
    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let policy: RestartPolicy
    private let logger: Logger

    private var child: pid_t?
    private var childStarted = ContinuousClock.now
    private var failures = 0
    private var restarts = 0
    /// The pipe whose read end every child inherits (see `SupervisedProcess`).
    private var lifeline: (read: Int32, write: Int32) = (-1, -1)

    /// `arguments` excludes argv[0] (which is `executable`).
    public init(executable: String, arguments: [String], environment: [String: String], policy: RestartPolicy, logger: Logger) {
        self.executable = executable
        self.arguments = arguments
        // Under systemd the unit supervises `serve` itself; a monitor's child must not claim the
        // unit's notification socket or watchdog.
        var environment = environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { environment.removeValue(forKey: key) }
        environment[SupervisedProcess.environmentVariable] = String(SupervisedProcess.descriptor)
        self.environment = environment
        self.policy = policy
        self.logger = logger
    }

    private static var handledSignals: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&signals, signal) }
        return signals
    }

    /// Blocks the signals the supervisor waits for. Call first thing, before any thread starts.
    public static func blockSignals() {
        var signals = handledSignals
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Runs until asked to stop; returns the exit status for the monitor process.
    public func run() -> Int32 {
        var signals = Self.handledSignals
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            // Above the child's descriptor number: dup2 onto itself would keep close-on-exec.
            lifeline = (fcntl(ends[0], F_DUPFD_CLOEXEC, 10), fcntl(ends[1], F_DUPFD_CLOEXEC, 10))
            close(ends[0]); close(ends[1])
        }
        defer { close(lifeline.read); close(lifeline.write) }
        var nextStart: ContinuousClock.Instant? = .now
        while true {
            if child == nil, let start = nextStart, start <= .now {
                nextStart = nil
                do {
                    try spawn()
                } catch {
                    failures += 1
                    let delay = policy.delay(afterFailures: failures)
                    logger.error("Cannot start serve: \(error); retrying in \(Self.format(delay))")
                    nextStart = .now + delay
                }
                continue
            }
            var info = siginfo_t()
            let received: Int32
            if let start = nextStart {
                var timeout = Self.timespec(start - .now)
                received = sigtimedwait(&signals, &info, &timeout)
            } else {
                received = sigwaitinfo(&signals, &info)
            }
            switch received {
            case SIGCHLD:
                guard let (pid, exit) = reapChild() else { continue }
                let uptime = ContinuousClock.now - childStarted
                child = nil
                if case .exited(let status) = exit, policy.fatalExitStatuses.contains(status) {
                    logger.critical("serve (pid \(pid)) \(exit): a restart cannot fix this; the monitor stops")
                    return status
                }
                if exit == .exited(0) {
                    logger.info("serve (pid \(pid)) exited cleanly; the monitor stops")
                    return 0
                }
                failures = uptime >= policy.stableAfter ? 1 : failures + 1
                let delay = policy.delay(afterFailures: failures)
                restarts += 1
                logger.warning("serve (pid \(pid)) \(exit) after \(Self.format(uptime)); restart #\(restarts) in \(Self.format(delay))")
                nextStart = .now + delay
            case SIGHUP:
                logger.info("Received SIGHUP; restarting serve")
                if child != nil { _ = stopChild() }
                failures = 0
                nextStart = .now
            case SIGINT, SIGTERM:
                logger.info("Received \(received == SIGINT ? "SIGINT" : "SIGTERM"); stopping serve")
                let exit = stopChild()
                logger.info("Monitor stopped cleanly\(exit.map { "; serve \($0)" } ?? "")")
                return 0
            default:
                continue // timeout (EAGAIN) or EINTR: loop and look at the clock again
            }
        }
    }

    private func spawn() throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = Self.handledSignals
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if lifeline.read >= 0 { posix_spawn_file_actions_adddup2(&actions, lifeline.read, SupervisedProcess.descriptor) }

        var pid: pid_t = 0
        let entries = environment.map { "\($0.key)=\($0.value)" }.sorted()
        let result = withCStrings([executable] + arguments) { argv in
            withCStrings(entries) { envp in
                posix_spawn(&pid, executable, &actions, &attributes,
                            UnsafeMutablePointer(mutating: argv), UnsafeMutablePointer(mutating: envp))
            }
        }
        guard result == 0 else {
            throw ScanBridgeSpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        child = pid
        childStarted = .now
        logger.info("Started serve", metadata: ["pid": "\(pid)"])
    }

    /// Reaps every exited child; returns the supervised one's exit if it was among them.
    private func reapChild() -> (pid_t, ChildExit)? {
        var found: (pid_t, ChildExit)?
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            if pid == child { found = (pid, ChildExit(waitStatus: status)) }
        }
        return found
    }

    /// SIGTERM, wait up to the grace period, then SIGKILL. Returns how the child ended.
    private func stopChild() -> ChildExit? {
        guard let pid = child else { return nil }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + policy.stopGracePeriod
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGCHLD)
        while ContinuousClock.now < deadline {
            if let (_, exit) = reapChild() { child = nil; return exit }
            var info = siginfo_t()
            var timeout = Self.timespec(min(deadline - .now, .milliseconds(100)))
            _ = sigtimedwait(&signals, &info, &timeout)
        }
        if let (_, exit) = reapChild() { child = nil; return exit }
        logger.warning("serve (pid \(pid)) did not stop within \(Self.format(policy.stopGracePeriod)); sending SIGKILL")
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        child = nil
        return ChildExit(waitStatus: status)
    }

    private static func timespec(_ duration: Duration) -> Glibc.timespec {
        let clamped = max(duration, .zero)
        return Glibc.timespec(tv_sec: Int(clamped.components.seconds), tv_nsec: Int(clamped.components.attoseconds / 1_000_000_000))
    }

    static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.1f s", seconds)
    }
}

struct ScanBridgeSpawnError: Error, CustomStringConvertible {
    var description: String
}

/// What a `serve` started by the monitor does about it: the monitor hands each child the read
/// end of a pipe whose write end only the monitor holds. When the monitor dies (even by SIGKILL)
/// the read sees end-of-file and the child stops itself with SIGTERM, so no orphaned service
/// keeps the ports.
public enum SupervisedProcess {
    /// The descriptor number the pipe's read end has in the child.
    static let descriptor: Int32 = 3
    static let environmentVariable = "SCANBRIDGE_MONITOR_FD"

    public static func bindToMonitor(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let text = environment[environmentVariable], let fd = Int32(text), fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC) // not for our own children
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(fd, &byte, 1)
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
            }
            kill(getpid(), SIGTERM)
        }
        thread.name = "scanbridge.monitor-watch"
        thread.start()
    }
}
