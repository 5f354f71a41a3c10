import ScanBridgeCore

/// Where document keys are derived (scrypt, about 0.1 s and 32 MiB each): a thread of its own,
/// shared by every document store of the process.
///
/// Not the cooperative pool, which a few derivations would fill, and not a store's I/O thread,
/// which every other document call needs: clients guessing passwords then slow down each other
/// only, never the document calls of everyone else.
enum KeyDerivation {
    private static let threads = DedicatedThreads(name: "sb-kdf", threads: 1)

    /// scrypt of `password` with `salt` and the given costs, on the derivation thread.
    static func derive(password: String, salt: [UInt8], n: UInt64, r: UInt64, p: UInt64) async throws(ScanBridgeError) -> [UInt8] {
        let outcome: Result<[UInt8], ScanBridgeError>
        do {
            outcome = try await threads.run { () -> Result<[UInt8], ScanBridgeError> in
                do throws(ScanBridgeError) {
                    return .success(try DocumentFiles.deriveKey(password: password, salt: salt, n: n, r: r, p: p))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot derive the document key: \(error)")
        }
        return try outcome.get()
    }
}
