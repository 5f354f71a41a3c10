// storage-crash-writer: a real process that drives ScanBridgeStorage for the storage tests.
//
//   storage-crash-writer write STORAGE SEED          create documents and write/delete pages for
//                                                    ever, printing each acknowledgement
//   storage-crash-writer insert STORAGE DOC BYTES [--password P] [--fsize-limit N]
//   storage-crash-writer create STORAGE [--fsize-limit N]
//   storage-crash-writer spill CACHE PAGES BYTES LIMIT [--fsize-limit N]   append, read back,
//                                                    print the process's base and peak RSS
//
// Lines printed (flushed at once): `DOC uid password|-`, `ACK doc page seq position`, `DEL doc page`,
// `OK …`, `ERROR code message | cause`. `--fsize-limit` sets RLIMIT_FSIZE with SIGXFSZ ignored,
// so writes past N bytes fail with EFBIG as on a full disk.
import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import ScanBridgeStorage

#if canImport(Glibc)
import Glibc
#endif

/// Page content from a sequence number: the first 8 bytes are `seq`, the rest a xorshift stream
/// seeded by it, so any page found on disk can be checked on its own.
enum TestContent {
    static func bytes(seq: UInt64, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(count, 8))
        withUnsafeBytes(of: seq.littleEndian) { for i in 0..<8 { out[i] = $0[i] } }
        var state = seq &* 0x9E37_79B9_7F4A_7C15 | 1
        for i in 8..<out.count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            out[i] = UInt8(truncatingIfNeeded: state)
        }
        return out
    }

    static func page(seq: UInt64, size: Int, raw: Bool) -> Page {
        if raw {
            let width = 256, height = max(1, size / width)
            return Page(image: Image(width: width, height: height, format: .gray8, xDPI: 300, yDPI: 300,
                                     pixels: bytes(seq: seq, count: width * height)))
        }
        return Page(encoded: bytes(seq: seq, count: size), mediaType: "application/x-scanbridge-test",
                    info: PageInfo(width: 100, height: 100, format: .rgb24, xDPI: 200, yDPI: 200))
    }
}

/// A field of /proc/self/status in bytes (VmRSS, VmHWM).
func procStatus(_ field: String) -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// One line to stdout, unbuffered (the process may be killed right after).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func describe(_ error: Error) -> String {
    guard let error = error as? ScanBridgeError else { return "ERROR 0 \(error)" }
    return "ERROR \(error.code) \(error.message) | \(error.cause.map { "\($0.code) \($0.message)" } ?? "-")"
}

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let at = arguments.firstIndex(of: name), at + 1 < arguments.count else { return nil }
    let value = arguments[at + 1]
    arguments.removeSubrange(at...(at + 1))
    return value
}
if let limit = option("--fsize-limit").flatMap({ UInt64($0) }) {
    signal(SIGXFSZ, SIG_IGN)
    var value = rlimit(rlim_cur: rlim_t(limit), rlim_max: rlim_t(limit))
    guard setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &value) == 0 else { say("ERROR setrlimit failed"); exit(2) }
}
let password = option("--password")
// The allocator tuning `scanbridge serve` applies at start-up, so that memory figures are the
// service's.
MemoryPolicy.returnLargeAllocationsToSystem()

do {
    switch arguments.first {
    case "write":
        let store = try await DocumentStore.open(folder: arguments[1])
        var seq = UInt64(arguments[2])! << 32
        var generator = SystemRandomNumberGenerator()
        say("OPEN \(store.recovery.removedTemporary) \(store.recovery.removedOrphanPages)")
        while true {
            let secret = Bool.random(using: &generator) ? "pw-\(seq)" : nil
            let document = try await store.create(password: secret)
            say("DOC \(document.uid) \(secret ?? "-")")
            var pages: [String] = []
            for _ in 0..<12 {
                if pages.count > 2, Int.random(in: 0..<4, using: &generator) == 0 {
                    let victim = pages.remove(at: Int.random(in: 0..<pages.count, using: &generator))
                    _ = try await store.deletePage(.uid(victim), from: document.uid, password: secret)
                    say("DEL \(document.uid) \(victim)")
                    continue
                }
                seq += 1
                let position = Int.random(in: 0...pages.count, using: &generator)
                let page = TestContent.page(seq: seq, size: Int.random(in: 1_000...300_000, using: &generator),
                                            raw: Bool.random(using: &generator))
                let info = try await store.insertPages([page], into: document.uid, at: position, password: secret)
                let uid = info.pages[position].uid
                pages.insert(uid, at: position)
                say("ACK \(document.uid) \(uid) \(seq) \(position)")
            }
        }
    case "create":
        let store = try await DocumentStore.open(folder: arguments[1])
        let document = try await store.create(password: password)
        say("OK \(document.uid)")
    case "insert":
        let store = try await DocumentStore.open(folder: arguments[1])
        let page = TestContent.page(seq: 7, size: Int(arguments[3])!, raw: false)
        let info = try await store.insertPages([page], into: arguments[2], password: password)
        say("OK \(info.pages.count)")
    case "spill":
        let baseline = procStatus("VmRSS")
        let buffer = try await ImageBuffer.open(cacheFolder: arguments[1],
                                                limits: BufferLimits(memoryBytes: Int(arguments[4])!, maxPages: 10_000))
        for seq in 0..<UInt64(arguments[2])! {
            do {
                try await buffer.append(TestContent.page(seq: seq, size: Int(arguments[3])!, raw: false))
            } catch {
                say("\(describe(error)) | after \(seq) pages")
                for index in 0..<(await buffer.count) {
                    let page = try await buffer.content(at: index)
                    guard page == TestContent.page(seq: UInt64(index), size: Int(arguments[3])!, raw: false) else {
                        say("MISMATCH \(index)"); exit(1)
                    }
                }
                say("KEPT \(await buffer.count)")
                await buffer.close()
                exit(0)
            }
        }
        // Every page back, checked, then the process's own memory figures.
        for index in 0..<(await buffer.count) {
            guard try await buffer.content(at: index) == TestContent.page(seq: UInt64(index), size: Int(arguments[3])!, raw: false) else {
                say("MISMATCH \(index)"); exit(1)
            }
        }
        say("OK \(await buffer.count) spilled \(await buffer.stats.spillWrites) base \(baseline) peak \(procStatus("VmHWM"))")
        await buffer.close()
    default:
        say("usage: storage-crash-writer write|create|insert|spill …")
        exit(2)
    }
} catch {
    say(describe(error))
    exit(1)
}
