// io-bench: echo round trips and bulk echo throughput over loopback, for ScanBridgeIO's
// io_uring and epoll engines and, as the reference in the same run, a SwiftNIO echo server
// (NIOPosix, one event loop). The client side is the same blocking-socket load generator.
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
                    group.addTask {
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
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
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
let runs = Int(ProcessInfo.processInfo.environment["IO_BENCH_RUNS"] ?? "") ?? 3

var servers: [any EchoServer] = []
if case .available = IOEngine.probeIOURing() {
    servers.append(try ScanBridgeEcho(engine: try IOEngine.start(.ioUring)))
} else {
    print("io_uring refused on this machine: measuring epoll and the reference only")
}
servers.append(try ScanBridgeEcho(engine: try IOEngine.start(.epoll)))
servers.append(try NIOEcho())

var table = ResultTable(
    title: "Loopback echo (\(MachineDescription.current()); median of \(runs) runs of \(seconds) s)",
    columns: ["server", "64 B round trips/s, 1 conn", "64 B round trips/s, 16 conns", "bulk echo MB/s, 1 conn (64 MiB)"])

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

for server in servers {
    // Warm-up, then measured runs, rows interleaved per server so drift hits all alike.
    _ = LoadGenerator.roundTrips(port: server.port, connections: 1, message: 64, duration: 0.2)
    let one = median((0..<runs).map { _ in LoadGenerator.roundTrips(port: server.port, connections: 1, message: 64, duration: seconds) })
    let sixteen = median((0..<runs).map { _ in LoadGenerator.roundTrips(port: server.port, connections: 16, message: 64, duration: seconds) })
    let bulk = median((0..<runs).map { _ in LoadGenerator.bulk(port: server.port, total: 64 << 20) })
    table.add([server.name, format(one, digits: 0), format(sixteen, digits: 0), format(bulk, digits: 0)])
}
for server in servers { await server.stop() }
print(table.render())
