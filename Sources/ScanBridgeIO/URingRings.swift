// The io_uring engine's rings: one ring and thread a core, like an event loop a core, so that
// connection tasks running on their ring's thread (see `URingLoop`) can use every core.
// Listeners accept on the first ring and hand connections to the rings in turn.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// How the io_uring engine is laid out. Read once from the environment, so that a benchmark can
/// measure the engine with a lever turned off (`SCANBRIDGE_IO_URING_RINGS=1`,
/// `SCANBRIDGE_IO_URING_TASK_EXECUTOR=0`, `SCANBRIDGE_IO_URING_SETUP=cooperative`,
/// `SCANBRIDGE_IO_URING_BATCHES_PER_TURN=1`, `SCANBRIDGE_IO_URING_POLL_US=0`).
struct URingSettings: Sendable, Equatable {
    /// How a ring runs the kernel's completion work (`io_uring_setup` flags).
    enum TaskRun: String, Sendable, CaseIterable {
        /// SINGLE_ISSUER | DEFER_TASKRUN: only when the owner thread waits for completions.
        case deferred
        /// COOP_TASKRUN | TASKRUN_FLAG: at the owner's next kernel entry, no interrupt to run it.
        case cooperative
        /// No flag: the kernel interrupts the owner thread to run it.
        case plain
    }

    /// Rings (each with its own thread); by default one a core, at most 16.
    var rings: Int
    /// Whether streams offer their ring's thread as the executor of the tasks that drive them.
    var connectionTasksOnRings: Bool
    /// The setup tried first; a kernel that refuses it gets the next in `TaskRun.allCases`.
    var taskRun: TaskRun = .deferred
    /// How many batches of queued jobs and commands a ring thread runs before it reaps
    /// completions again (jobs queued by jobs run in the same turn, up to this).
    var batchesPerTurn = 8
    /// The longest a ring thread polls for completions before it sleeps (`PollBeforeSleep`).
    var pollMicroseconds = 100

    static func fromEnvironment() -> URingSettings {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let rings = environment("SCANBRIDGE_IO_URING_RINGS").flatMap { Int($0) } ?? cores
        let executor = environment("SCANBRIDGE_IO_URING_TASK_EXECUTOR") != "0"
        let taskRun = environment("SCANBRIDGE_IO_URING_SETUP").flatMap(TaskRun.init(rawValue:)) ?? .deferred
        let batches = environment("SCANBRIDGE_IO_URING_BATCHES_PER_TURN").flatMap { Int($0) } ?? 8
        let poll = environment("SCANBRIDGE_IO_URING_POLL_US").flatMap { Int($0) } ?? 100
        return URingSettings(rings: min(max(rings, 1), 16), connectionTasksOnRings: executor, taskRun: taskRun,
                             batchesPerTurn: min(max(batches, 1), 64), pollMicroseconds: min(max(poll, 0), 1_000))
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

final class URingRings: Sendable {
    let loops: [URingLoop]
    let settings: URingSettings
    private let turn = Atomic<Int>(0)

    init(_ settings: URingSettings = .fromEnvironment()) throws(IOError) {
        self.settings = settings
        var loops: [URingLoop] = []
        for index in 0..<settings.rings {
            loops.append(try URingLoop(name: "sb-io_uring-\(index)", settings: settings))
        }
        self.loops = loops
    }

    /// The ring for the next outgoing connection (round robin).
    func nextLoop() -> URingLoop {
        loop(turn: turn.add(1, ordering: .relaxed).oldValue)
    }

    /// The ring for turn number `turn` of a round robin.
    func loop(turn: Int) -> URingLoop {
        loops.count == 1 ? loops[0] : loops[turn % loops.count]
    }

    /// For the log and `GET /api/server`.
    var setupDescription: String {
        let rings = loops.count == 1 ? "1 ring" : "\(loops.count) rings"
        let tasks = settings.connectionTasksOnRings ? "connection tasks on the ring threads" : "connection tasks on the shared pool"
        return "\(rings), \(loops[0].setupDescription), \(tasks)"
    }

    func listen(_ address: SocketAddress, backlog: Int32) throws(IOError) -> any StreamListener {
        // Blocking sockets: io_uring waits for them itself (an O_NONBLOCK socket could make
        // it return EAGAIN instead of waiting on some kernels).
        let (fd, port) = try Socket.makeListener(address: address, backlog: backlog, nonBlocking: false)
        return URingListener(fd: fd, port: port, rings: self)
    }

    func connect(_ address: SocketAddress, timeout: Duration?) async throws(IOError) -> any ByteStream {
        let loop = nextLoop()
        let fd = try Socket.makeTCP(family: address.family, nonBlocking: false)
        let stream = URingStream(fd: fd, loop: loop)
        do throws(IOError) {
            try await loop.perform(stream.handle, "connect") { id, reply in
                .connect(id: id, owner: stream.handle.id, fd: fd, address: address, timeout: timeout, reply: reply)
            }
        } catch {
            await stream.close()
            if error.operation == "connect" {
                throw IOError(error.kind, operation: "connect to \(address)", errno: error.errno)
            }
            throw error
        }
        Socket.configureStream(fd)
        return stream
    }
}
