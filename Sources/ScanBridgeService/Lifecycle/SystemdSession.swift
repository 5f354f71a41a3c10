import Foundation
import Logging
import ScanBridgeCore

/// What `serve` tells systemd over its life: READY=1 once the listeners are up, WATCHDOG=1 at
/// half the unit's `WatchdogSec=` while the service is healthy, STOPPING=1 when it shuts down.
/// Outside systemd it does nothing. The watchdog pings come from a dedicated thread (a blocking
/// wait between pings), never from the cooperative pool.
public final class SystemdSession: Sendable {
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let stopWatchdog = BlockingResult<Void>()
    private let watchdogStopped = BlockingResult<Void>()
    private let watchdogRunning: Bool

    /// Sends READY=1 (with `status` as STATUS=) and starts the watchdog pinger when the unit
    /// asked for one. `isHealthy` is asked before each ping: a service that stops answering stops
    /// pinging, and systemd restarts it. By default it checks that Swift's cooperative thread pool
    /// still runs tasks (a pool whose threads are all stuck answers no request).
    public static func ready(status: String, logger: Logger,
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             isHealthy: @escaping @Sendable () -> Bool = { cooperativePoolResponds(within: .seconds(5)) }) -> SystemdSession {
        SystemdSession(status: status, logger: logger, environment: environment, isHealthy: isHealthy)
    }

    private init(status: String, logger: Logger, environment: [String: String], isHealthy: @escaping @Sendable () -> Bool) {
        notifier = SystemdNotifier(environment: environment)
        self.logger = logger
        let interval = notifier.isEnabled ? SystemdNotifier.watchdogInterval(environment: environment) : nil
        watchdogRunning = interval != nil
        guard notifier.isEnabled else { return }
        send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
        if let interval {
            let period = max(interval / 2, .milliseconds(1))
            logger.info("systemd watchdog enabled", metadata: ["interval": "\(interval)", "ping": "\(period)"])
            NamedThread.start(name: "sb-watchdog") { [notifier, logger, stopWatchdog, watchdogStopped] in
                while stopWatchdog.wait(timeout: period) == nil {
                    guard isHealthy() else {
                        logger.warning("Service unhealthy; withholding the systemd watchdog ping")
                        continue
                    }
                    do { try notifier.notify("WATCHDOG=1") } catch { logger.warning("\(error)") }
                }
                watchdogStopped.fulfil(())
            }
        }
    }

    /// Whether a task started now on the cooperative pool runs within `limit`. Called from the
    /// watchdog thread (it blocks that thread, never the pool).
    public static func cooperativePoolResponds(within limit: Duration) -> Bool {
        let ran = BlockingResult<Void>()
        Task.detached { ran.fulfil(()) }
        return ran.wait(timeout: limit) != nil
    }

    /// Updates the one-line status `systemctl status` shows.
    public func status(_ text: String) { send("STATUS=\(text)") }

    /// Sends STOPPING=1 and stops the watchdog pinger (waiting for its thread to finish).
    public func stopping() {
        if watchdogRunning {
            stopWatchdog.fulfil(())
            watchdogStopped.wait()
        }
        send("STOPPING=1\nSTATUS=Stopping")
    }

    private func send(_ state: String) {
        do { try notifier.notify(state) } catch { logger.warning("\(error)") }
    }
}
