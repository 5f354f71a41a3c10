// io-bench: echo round trips and bulk echo throughput over loopback, for ScanBridgeIO's
// io_uring and epoll engines and, as the reference in the same run, a SwiftNIO echo server
// (NIOPosix) with an event loop per core, as parallel as ours (io_uring: a ring and thread a core,
// each connection's task on its ring's thread; epoll: one I/O thread handing work to the
// cooperative pool, a thread a core). The client side is the same blocking-socket load
// generator. The servers take turns within each of IO_BENCH_RUNS rounds (default 5) after a
// warm-up; medians and spread are printed and written as JSON (BenchmarkRecord).
import BenchmarkSupport
import Foundation
import NIOCore
import NIOPosix
import ScanBridgeIO

/// An echo server on 127.0.0.1 with a port.
protocol EchoServer {
    var name: String { get }
    var port: Int { get }
    func stop() async
}

final class ScanBridgeEcho: EchoServer {
    let name: String
    let port: Int
    let listener: any StreamListener
    let task: Task<Void, Never>

    init(engine: IOEngine) throws {
        name = "ScanBridgeIO \(engine.kind.rawValue)"
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        self.listener = listener
        port = listener.port
        task = Task {
            await withDiscardingTaskGroup { group in
                while let stream = try? await listener.accept() {
                    group.addTask(executorPreference: stream.preferredExecutor) {
                        while let bytes = try? await stream.receive(maxLength: 65536, timeout: nil), !bytes.isEmpty {
                            do { try await stream.send(bytes, timeout: nil) } catch { break }
                        }
                        await stream.close()
                    }
                }
            }
        }
    }

    func stop() async {
        await listener.close()
        task.cancel()
    }
}

final class NIOEchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }
}

final class NIOEcho: EchoServer {
    let name = "SwiftNIO (reference)"
    let port: Int
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    init() throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(NIOEchoHandler()) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress!.port!
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

let seconds = Double(ProcessInfo.processInfo.environment["IO_BENCH_SECONDS"] ?? "") ?? 1.0
let runs = Int(ProcessInfo.processInfo.environment["IO_BENCH_RUNS"] ?? "") ?? 5
var record = BenchmarkRecord(benchmark: "io-bench", rounds: runs)

var servers: [any EchoServer] = []
if case .available = IOEngine.probeIOURing() {
    servers.append(try ScanBridgeEcho(engine: try IOEngine.start(.ioUring)))
} else {
    record.notes.append("io_uring refused on this machine: epoll and the reference only")
}
servers.append(try ScanBridgeEcho(engine: try IOEngine.start(.epoll)))
servers.append(try NIOEcho())

var table = BenchmarkRecord.Table(id: "echo", title: "Loopback echo, \(seconds) s a run; SwiftNIO with \(System.coreCount) event loops",
                                  contenders: servers.map(\.name), ours: servers[0].name)
let rows: [(id: String, label: String, unit: String, measure: (Int) -> Double)] = [
    ("rt-1", "64 B round trips, 1 connection", "round trips/s", { LoadGenerator.roundTrips(port: $0, connections: 1, message: 64, duration: seconds) }),
    ("rt-16", "64 B round trips, 16 connections", "round trips/s", { LoadGenerator.roundTrips(port: $0, connections: 16, message: 64, duration: seconds) }),
]
for row in rows {
    let samples = try Interleaved.run(rounds: runs, servers.map { server in (name: server.name, body: { row.measure(server.port) }) })
    table.add(id: row.id, label: row.label, unit: row.unit, samples)
}

// The bulk echo, long enough (1 GiB, about a second at loopback speed) that starting its two
// client threads and the scheduler's first placements do not decide the figure, with the CPU
// time it cost the whole process: the client threads are the same for every server, so a
// difference in CPU is the servers' own.
let bulkBytes = 1 << 30
var cpu = BenchmarkRecord.Table(id: "echo-cpu", title: "CPU time of the bulk echo (the whole process, the client's threads included)",
                                higherIsBetter: false, contenders: servers.map(\.name), ours: servers[0].name)
let bulkCPU = TurnFigures()
let bulk = try Interleaved.run(rounds: runs, servers.map { server in (name: server.name, body: {
    let result = LoadGenerator.bulk(port: server.port, total: bulkBytes)
    bulkCPU.record(result.cpuSeconds * 1e12 / Double(bulkBytes), for: server.name)
    return result.megabytesPerSecond
}) })
table.add(id: "bulk-1", label: "bulk echo of 1 GiB, 1 connection", unit: "MB/s", bulk)
cpu.add(id: "bulk-1", label: "bulk echo of 1 GiB, 1 connection", unit: "CPU ms per GB", bulkCPU.samples)
for server in servers { await server.stop() }
record.tables.append(table)
record.tables.append(cpu)
try record.finish()
