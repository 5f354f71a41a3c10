import Foundation
import ScanBridgeCore
import ScanBridgeStorage
import Testing

/// New passwords that could never be sent back, and the wrong-password back-off.
@Suite("Document passwords")
struct DocumentPasswordTests {
    private func failure(_ body: () async throws -> Void) async -> ScanBridgeError? {
        do { try await body(); return nil } catch let error as ScanBridgeError { return error } catch { return nil }
    }

    @Test("a password a header cannot carry back is refused when it is set")
    func unsendablePasswords() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let store = try await DocumentStore.open(folder: folder + "/storage")
        for password in [" a", "a ", "\ta", "a\t", "a\u{0}b", "a\nb", "a\u{7F}"] {
            let error = await failure { _ = try await store.create(password: password) }
            #expect(error?.code == StorageErrorCode.passwordNotSendable, "\(password.debugDescription)")
        }
        #expect(try await store.create(password: "two words").isEncrypted)
        #expect(try await store.documentUIDs().count == 1)
    }

    @Test("wrong passwords in a row pause password checks, doubling; the right key still opens; success resets")
    func backOff() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let attempts = PasswordAttempts(freeFailures: 2, firstDelay: .milliseconds(300), maxDelay: .seconds(5))
        let store = try await DocumentStore.open(folder: folder + "/storage", passwordAttempts: attempts)
        let uid = try await store.create(password: "right").uid
        for _ in 0..<3 {
            #expect(await failure { _ = try await store.info(uid: uid, password: "wrong") }?.code == StorageErrorCode.wrongPassword)
        }
        let paused = await failure { _ = try await store.info(uid: uid, password: "wrong again") }
        #expect(paused?.code == StorageErrorCode.tooManyPasswordAttempts)
        #expect(paused?.message.contains("try again in 1 s") == true)
        // The right password's key is known from creation: no derivation, no pause.
        #expect(try await store.info(uid: uid, password: "right").uid == uid)
        try await Task.sleep(for: .milliseconds(350))
        #expect(await failure { _ = try await store.info(uid: uid, password: "wrong") }?.code == StorageErrorCode.wrongPassword)
        // The fourth failure pauses twice as long.
        try await Task.sleep(for: .milliseconds(350))
        #expect(await failure { _ = try await store.info(uid: uid, password: "wrong") }?.code == StorageErrorCode.tooManyPasswordAttempts)

        // After a restart the key is unknown: the right password needs a derivation, and resets the count.
        let reopened = try await DocumentStore.open(folder: folder + "/storage", passwordAttempts: attempts)
        for _ in 0..<2 { _ = await failure { _ = try await reopened.info(uid: uid, password: "wrong") } }
        #expect(try await reopened.info(uid: uid, password: "right").uid == uid)
        for _ in 0..<2 {
            #expect(await failure { _ = try await reopened.info(uid: uid, password: "wrong") }?.code == StorageErrorCode.wrongPassword)
        }
    }
}
