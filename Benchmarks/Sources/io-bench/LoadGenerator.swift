// The load generator every server in io-bench is measured with: plain blocking sockets, one
// dedicated thread per connection, so that the client side is the same for every server.
import BenchmarkSupport
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

enum LoadGenerator {
    /// Opens a blocking TCP connection to 127.0.0.1:`port` with TCP_NODELAY.
    static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect: \(errno)")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    static func sendAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) {
        var offset = 0
        while offset < count {
            let n = send(fd, buffer + offset, count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "send: \(errno)")
            offset += n
        }
    }

    static func receiveAll(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) {
        var offset = 0
        while offset < count {
            let n = recv(fd, buffer + offset, count - offset, 0)
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "recv: \(n) errno \(errno)")
            offset += n
        }
    }

    /// Runs `body(i)` for i in 0..<count, each on its own thread (real concurrency, unlike
    /// concurrentPerform, which runs at most one per core), and waits for all.
    static func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                body(index)
                group.leave()
            }
            thread.start()
        }
        group.wait()
    }

    /// `connections` threads, each doing `message`-byte echo round trips for `duration` seconds.
    /// Returns round trips per second over all connections.
    static func roundTrips(port: Int, connections: Int, message: Int, duration: Double) -> Double {
        let fds = (0..<connections).map { _ in connect(port: port) }
        let counts = Mutex<[Int]>(Array(repeating: 0, count: connections))
        let start = DispatchTime.now().uptimeNanoseconds
        let end = start + UInt64(duration * 1e9)
        runThreads(connections) { index in
            let fd = fds[index]
            let out = UnsafeMutableRawPointer.allocate(byteCount: message, alignment: 8)
            let back = UnsafeMutableRawPointer.allocate(byteCount: message, alignment: 8)
            out.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: index), count: message)
            var count = 0
            repeat {
                for _ in 0..<16 {
                    sendAll(fd, out, message)
                    receiveAll(fd, back, message)
                }
                count += 16
                precondition(memcmp(out, back, message) == 0, "echo mismatch")
            } while DispatchTime.now().uptimeNanoseconds < end
            counts.withLock { $0[index] = count }
            out.deallocate()
            back.deallocate()
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let total = counts.withLock { $0.reduce(0, +) }
        for fd in fds { close(fd) }
        return Double(total) / elapsed
    }

    /// One connection: `total` bytes sent in 64 KiB writes by one thread while another reads the
    /// echo. Returns MB/s (10^6 bytes) of echoed payload and the process's CPU seconds meanwhile.
    static func bulk(port: Int, total: Int) -> (megabytesPerSecond: Double, cpuSeconds: Double) {
        let fd = connect(port: port)
        let chunk = 65536
        let cpuStart = processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        runThreads(2) { role in
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 8)
            buffer.initializeMemory(as: UInt8.self, repeating: 0xA5, count: chunk)
            var done = 0
            while done < total {
                let size = min(chunk, total - done)
                if role == 0 {
                    sendAll(fd, buffer, size)
                    done += size
                } else {
                    let n = recv(fd, buffer, size, 0)
                    if n < 0 && errno == EINTR { continue }
                    precondition(n > 0, "recv: \(errno)")
                    done += n
                }
            }
            buffer.deallocate()
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpuSeconds = processCPUSeconds() - cpuStart
        close(fd)
        return (Double(total) / elapsed / 1e6, cpuSeconds)
    }
}
