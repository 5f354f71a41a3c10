import Foundation
import ScanBridgeCore
import ScanBridgeStorage
import Testing

/// New passwords that could never be sent back, and the wrong-password back-off.
@Suite("Document passwords")
struct DocumentPasswordTests {
    private func failure(_ body: () async throws -> Void) async -> ScanBridgeError? {
        await firstFailure(body)
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

    @Test("guesses sent at once are held to the back-off too: only the free ones and the one that closes are answered -1043")
    func concurrentGuesses() async throws {
        let folder = try Support.temporaryFolder()
        defer { Support.remove(folder) }
        let attempts = PasswordAttempts(freeFailures: 2, firstDelay: .seconds(30), maxDelay: .seconds(60))
        let created = try await DocumentStore.open(folder: folder + "/storage", passwordAttempts: attempts)
        let uid = try await created.create(password: "right").uid
        // A new run: the key is unknown, so every guess needs a key derivation (one at a time).
        let store = try await DocumentStore.open(folder: folder + "/storage", passwordAttempts: attempts)
        let guesses = (0..<8).map { "wrong \($0)" }
        let codes = await withTaskGroup(of: Int?.self) { group in
            for guess in guesses {
                group.addTask { await firstFailure { _ = try await store.info(uid: uid, password: guess) }?.code }
            }
            return await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        #expect(codes.count { $0 == StorageErrorCode.wrongPassword } == 3)
        #expect(codes.count { $0 == StorageErrorCode.tooManyPasswordAttempts } == guesses.count - 3)
        // Closed means closed: the right password needs a derivation too and waits like the rest.
        #expect(await failure { _ = try await store.info(uid: uid, password: "right") }?.code == StorageErrorCode.tooManyPasswordAttempts)
    }
}

private func firstFailure(_ body: () async throws -> Void) async -> ScanBridgeError? {
    do { try await body(); return nil } catch let error as ScanBridgeError { return error } catch { return nil }
}
