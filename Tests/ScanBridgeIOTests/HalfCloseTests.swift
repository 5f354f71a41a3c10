import Testing
@testable import ScanBridgeIO

@Suite("Half-close on each engine")
struct HalfCloseTests {
    @Test("shutdownWrite: the peer reads what was sent, then end of stream, and can still send back", arguments: engineKinds)
    func shutdownWrite(kind: IOEngineKind) async throws {
        let engine = try engine(kind)
        let listener = try engine.listen(address: "127.0.0.1", port: 0)
        async let accepted = listener.accept()
        let client = try await engine.connect(address: "127.0.0.1", port: listener.port, timeout: patient)
        let server = try await accepted
        try await server.send([1, 2, 3], timeout: patient)
        await server.shutdownWrite()
        #expect(try await receiveExactly(client, 3) == [1, 2, 3])
        #expect(try await client.receive(maxLength: 100, timeout: patient) == [])
        // The other direction stays open.
        try await client.send([4, 5], timeout: patient)
        #expect(try await receiveExactly(server, 2) == [4, 5])
        await server.shutdownWrite()   // idempotent
        await server.close()
        await server.shutdownWrite()   // after close: nothing to do
        await client.close()
        await listener.close()
    }
}
