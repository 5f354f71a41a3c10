import CFuzzDriver
import ScanBridgeHTTP

/// What the parser produced, with adjacent body events merged (so splits compare equal).
private func events(_ pieces: [ArraySlice<UInt8>], limits: HTTPLimits) -> [HTTPRequestParser.Event] {
    var parser = HTTPRequestParser(limits: limits)
    var result: [HTTPRequestParser.Event] = []
    var steps = 0
    outer: for piece in pieces {
        parser.append(piece)
        while true {
            steps += 1
            // Every call consumes input or ends: a parser that loops forever is a bug.
            if steps > 1_000_000 { fatalError("parser made no progress") }
            let event = parser.next()
            switch event {
            case .needMoreData:
                continue outer
            case .body(let more):
                if more.isEmpty { fatalError("empty body event") }
                if case .body(let earlier)? = result.last {
                    result[result.count - 1] = .body(earlier + more)
                } else {
                    result.append(event)
                }
            case .error:
                result.append(event)
                if parser.next() != event { fatalError("the parser did not stay failed") }
                break outer
            default:
                result.append(event)
            }
        }
    }
    return result
}

/// libFuzzer entry: the input is parsed whole and split in three at positions taken from its
/// first bytes; both must give the same events (and nothing may crash or hang).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits, so that every limit is reachable by short inputs.
    let limits = HTTPLimits(maxRequestLineLength: 64, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodySize: 512, maxChunkLineLength: 32)
    let whole = events([bytes[...]], limits: limits)
    guard size > 2 else { return 0 }
    let first = Int(bytes[0]) % (size + 1), second = Int(bytes[1]) * 7 % (size + 1)
    let (a, b) = (min(first, second), max(first, second))
    let split = events([bytes[..<a], bytes[a..<b], bytes[b...]], limits: limits)
    if split != whole { fatalError("split at \(a), \(b) changed the result: \(split) vs \(whole)") }
    let single = events(bytes.indices.map { bytes[$0...$0] }, limits: limits)
    if single != whole { fatalError("byte-by-byte feeding changed the result") }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to `fuzz_http_main`): libFuzzer's driver.
@_cdecl("fuzz_http_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzHTTPParser(data!, size) }
}
