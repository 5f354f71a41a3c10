import Foundation
import ScanBridgeCore
import ScanBridgeImaging
import Synchronization

// The on-disk form of persistent documents, and every operation on it. Blocking: runs on the
// store's serial queue only (see `DocumentStore`).
//
// storage/
//   <doc uid>/manifest          the document's index (a plain container holding JSON)
//   <doc uid>/<page uid>.page   one page (plain, or AES-256-GCM sealed when password-protected)
//   .tmp-*                      a document being created (renamed to <doc uid> when complete)
//   .trash-*                    a document being deleted
// Every file is written as `.tmp-*`, fsynced, renamed into place, and its folder fsynced. The
// manifest is the commit point: a page file is part of a document only once a manifest naming it
// has been renamed into place, so a crash at any moment leaves either the old or the new state.
// Whatever the crash left behind (`.tmp-*`, `.trash-*`, page files no manifest names) is removed
// when the store opens.

struct ManifestPage: Codable, Equatable {
    var uid: String
    var file: String
}

struct PageDetails: Codable, Equatable {
    var uid: String
    var width: Int
    var height: Int
    var format: String
    var xDPI: Double
    var yDPI: Double
    var mediaType: String?
    var byteCount: Int
    /// SHA-256 (hex) of the page file's header and payload; plain documents only (sealed pages
    /// are authenticated by GCM).
    var sha256: String?
}

struct EncryptionParameters: Codable, Equatable {
    var kdf: String
    var n: UInt64
    var r: UInt64
    var p: UInt64
    var salt: String
    /// A known text sealed with the derived key: opening it proves the password.
    var check: String
}

struct Manifest: Codable, Equatable {
    var format: Int
    var uid: String
    var created: Double
    var encryption: EncryptionParameters?
    /// Page uids and files in document order (no content).
    var pages: [ManifestPage]
    /// Plain documents: per-page details. Encrypted documents: nil, see `sealedDetails`.
    var details: [PageDetails]?
    /// Encrypted documents: the details, sealed with the document key (base64).
    var sealedDetails: String?
    /// Plain documents: the document's metadata, when any is set.
    var metadata: DocumentMetadata?
    /// Encrypted documents: the metadata, sealed with the document key (base64), when any is set.
    var sealedMetadata: String?
    /// The options the document was created with, when any differ from the defaults.
    var options: DocumentOptions?
}

/// A key to derive before a document can be unlocked (`DocumentFiles.keyToDerive`).
struct KeyDerivationRequest: Sendable {
    var uid: String
    var password: String
    var salt: [UInt8]
    var check: [UInt8]
    var n: UInt64
    var r: UInt64
    var p: UInt64
}

/// A document whose password (if any) was checked: its key and page details.
struct UnlockedDocument {
    var manifest: Manifest
    var key: [UInt8]?
    var details: [PageDetails]
    var metadata = DocumentMetadata()
}

/// The store's state and file operations. File operations run only on the store's serial
/// queue; `keyToDerive` and `accept` touch memory only and run on the store's actor. The state
/// is behind a `Mutex`, so both hold by construction.
final class DocumentFiles: Sendable {
    static let manifestName = "manifest"
    static let checkText = Array("ScanBridge document key check v1".utf8)
    /// scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s per derivation).
    static let scryptN: UInt64 = 1 << 15
    static let scryptR: UInt64 = 8
    static let scryptP: UInt64 = 1
    static let maxPasswordLength = 32

    struct State {
        var manifests: [String: Manifest] = [:]
        /// Keys derived this run: document uid → (SHA-256 of salt ‖ password, key).
        var keys: [String: (check: [UInt8], key: [UInt8])] = [:]
    }

    struct RecoveryReport: Sendable, Equatable {
        var documents = 0
        var removedTemporary = 0
        var removedOrphanPages = 0
        var unreadableDocuments: [String] = []
    }

    let root: String
    private let state = Mutex(State())

    init(root: String) {
        self.root = root
    }

    // MARK: Opening and recovery

    /// Creates `storage/` if needed, removes what interrupted operations left, and loads every
    /// document's manifest.
    func recover() throws(ScanBridgeError) -> RecoveryReport {
        var report = RecoveryReport()
        do throws(SystemCallError) {
            try Posix.makeDirectory(root, existingOK: true)
        } catch {
            throw .file(error, writing: true, what: "the storage folder \(root)")
        }
        let names: [String]
        do throws(SystemCallError) { names = try Posix.list(root) } catch {
            throw .file(error, writing: false, what: "the storage folder \(root)")
        }
        var manifests: [String: Manifest] = [:]
        var removedSomething = false
        for name in names {
            let path = root + "/" + name
            if name.hasPrefix(".tmp-") || name.hasPrefix(".trash-") {
                try? Posix.removeTree(path)
                report.removedTemporary += 1
                removedSomething = true
                continue
            }
            guard Identifier.isValid(name), (try? Posix.kind(path)) == .directory else { continue }
            // A manifest is trusted only if every file it names is a plain name inside the folder.
            guard let manifest = try? readManifest(folder: path), manifest.uid == name,
                  manifest.pages.allSatisfy({ $0.file == $0.uid + ".page" && Identifier.isValid($0.uid) }) else {
                report.unreadableDocuments.append(name)
                continue
            }
            manifests[name] = manifest
            let referenced = Set(manifest.pages.map(\.file))
            for file in (try? Posix.list(path)) ?? [] where file != Self.manifestName && !referenced.contains(file)
                && !Self.isRecognition(file, ofOneOf: referenced) {
                try? Posix.removeTree(path + "/" + file)
                if file.hasPrefix(".tmp-") { report.removedTemporary += 1 } else { report.removedOrphanPages += 1 }
                removedSomething = true
            }
        }
        if removedSomething { try? Posix.fsyncDirectory(root) }
        report.documents = manifests.count
        state.withLock { $0.manifests = manifests }
        return report
    }

    var documentUIDs: [String] { state.withLock { $0.manifests.keys.sorted() } }

    // MARK: Documents

    /// A new salt and the key `password` derives with it (`KeyDerivation`), for `create`.
    struct NewKey: Sendable {
        var password: String
        var salt: [UInt8]
        var key: [UInt8]
    }

    /// Creates a document, encrypted under `newKey` when one is given, keeping `options` with it.
    func create(newKey: NewKey?, options: DocumentOptions = DocumentOptions()) throws(ScanBridgeError) -> UnlockedDocument {
        var uid = Identifier.random()
        while state.withLock({ $0.manifests[uid] != nil }) { uid = Identifier.random() }
        var manifest = Manifest(format: 1, uid: uid, created: Date().timeIntervalSince1970, encryption: nil, pages: [],
                                details: [], sealedDetails: nil, options: options.isDefault ? nil : options)
        var key: [UInt8]?
        if let newKey {
            let password = newKey.password, salt = newKey.salt, derived = newKey.key
            let check = try Self.seal(Self.checkText, key: derived, aad: Array("check:\(uid)".utf8))
            manifest.encryption = EncryptionParameters(kdf: "scrypt", n: Self.scryptN, r: Self.scryptR, p: Self.scryptP,
                                                       salt: Data(salt).base64EncodedString(), check: Data(check).base64EncodedString())
            manifest.details = nil
            manifest.sealedDetails = try Self.sealDetails([], key: derived, uid: uid)
            key = derived
            remember(uid: uid, password: password, salt: salt, key: derived)
        }
        let staging = root + "/.tmp-" + Identifier.random()
        let what = "the new document"
        do throws(SystemCallError) {
            try Posix.makeDirectory(staging, existingOK: false)
        } catch {
            throw .file(error, writing: true, what: what)
        }
        do throws(ScanBridgeError) {
            try writeManifest(manifest, folder: staging)
            do throws(SystemCallError) {
                try Posix.rename(staging, root + "/" + uid)
            } catch {
                throw .file(error, writing: true, what: what)
            }
        } catch {
            try? Posix.removeTree(staging)
            throw error
        }
        do throws(SystemCallError) {
            try Posix.fsyncDirectory(root)
        } catch {
            // The caller is told the document was not created, so it must not appear after a
            // restart either.
            try? Posix.removeTree(root + "/" + uid)
            throw .file(error, writing: true, what: what)
        }
        state.withLock { $0.manifests[uid] = manifest }
        return UnlockedDocument(manifest: manifest, key: key, details: [])
    }

    /// What deriving the key of document `uid` from `password` takes: nil when nothing needs
    /// deriving (no such document, not encrypted, no password given, or this password's key is
    /// already known), so that `unlock` finds the key without deriving it. Touches memory only.
    func keyToDerive(_ uid: String, password: String?) throws(ScanBridgeError) -> KeyDerivationRequest? {
        guard Identifier.isValid(uid), let manifest = state.withLock({ $0.manifests[uid] }),
              let encryption = manifest.encryption, let password = try Self.normalise(password),
              let salt = Data(base64Encoded: encryption.salt).map(Array.init),
              let check = Data(base64Encoded: encryption.check).map(Array.init),
              encryption.kdf == "scrypt", encryption.n <= 1 << 20, encryption.r <= 32, encryption.p <= 16 else { return nil }
        if let known = state.withLock({ $0.keys[uid] }), known.check == Crypto.sha256(salt + Array(password.utf8)) { return nil }
        return KeyDerivationRequest(uid: uid, password: password, salt: salt, check: check,
                                    n: encryption.n, r: encryption.r, p: encryption.p)
    }

    /// Keeps `key` for `request`'s document when it opens the document's check value; false for
    /// a wrong password.
    func accept(_ key: [UInt8], for request: KeyDerivationRequest) -> Bool {
        guard Crypto.open(request.check, key: key, aad: Array("check:\(request.uid)".utf8)) == Self.checkText else { return false }
        remember(uid: request.uid, password: request.password, salt: request.salt, key: key)
        return true
    }

    /// The document with `uid`, its password checked.
    func unlock(_ uid: String, password: String?) throws(ScanBridgeError) -> UnlockedDocument {
        guard Identifier.isValid(uid), let manifest = state.withLock({ $0.manifests[uid] }) else {
            throw Self.documentNotFound(uid)
        }
        guard let encryption = manifest.encryption else {
            return UnlockedDocument(manifest: manifest, key: nil, details: manifest.details ?? [], metadata: manifest.metadata ?? DocumentMetadata())
        }
        guard let password = try Self.normalise(password) else {
            throw .storage(StorageErrorCode.wrongPassword, "The document is password-protected: send its password (DWT-DOC-PASSWORD).")
        }
        guard let salt = Data(base64Encoded: encryption.salt).map(Array.init),
              let check = Data(base64Encoded: encryption.check).map(Array.init),
              encryption.kdf == "scrypt", encryption.n <= 1 << 20, encryption.r <= 32, encryption.p <= 16 else {
            throw .storage(StorageErrorCode.readFailed, "The document's manifest is damaged.")
        }
        let fingerprint = Crypto.sha256(salt + Array(password.utf8))
        let key: [UInt8]
        if let known = state.withLock({ $0.keys[uid] }), known.check == fingerprint {
            key = known.key
        } else {
            let derived = try Self.deriveKey(password: password, salt: salt, n: encryption.n, r: encryption.r, p: encryption.p)
            guard Crypto.open(check, key: derived, aad: Array("check:\(uid)".utf8)) == Self.checkText else {
                throw .storage(StorageErrorCode.wrongPassword, "The document password is not valid.")
            }
            remember(uid: uid, password: password, salt: salt, key: derived)
            key = derived
        }
        guard let sealed = manifest.sealedDetails.flatMap({ Data(base64Encoded: $0) }).map(Array.init),
              let plain = Crypto.open(sealed, key: key, aad: Array("details:\(uid)".utf8)),
              let details = try? JSONDecoder().decode([PageDetails].self, from: Data(plain)) else {
            throw .storage(StorageErrorCode.readFailed, "The document's manifest is damaged.")
        }
        var metadata = DocumentMetadata()
        if let text = manifest.sealedMetadata {
            guard let sealed = Data(base64Encoded: text).map(Array.init),
                  let plain = Crypto.open(sealed, key: key, aad: Array("metadata:\(uid)".utf8)),
                  let opened = try? JSONDecoder().decode(DocumentMetadata.self, from: Data(plain)) else {
                throw .storage(StorageErrorCode.readFailed, "The metadata of document \(uid) is damaged.")
            }
            metadata = opened
        }
        return UnlockedDocument(manifest: manifest, key: key, details: details, metadata: metadata)
    }

    /// Replaces the document's metadata fields that `change` sets (an empty string removes one).
    func updateMetadata(_ uid: String, with change: DocumentMetadata, password: String?) throws(ScanBridgeError) -> UnlockedDocument {
        var document = try unlock(uid, password: password)
        document.metadata = document.metadata.updated(with: change)
        try commit(&document)
        return document
    }

    func delete(_ uid: String, password: String?) throws(ScanBridgeError) {
        _ = try unlock(uid, password: password)
        let trash = root + "/.trash-" + Identifier.random()
        do throws(SystemCallError) {
            try Posix.rename(root + "/" + uid, trash)
            try Posix.fsyncDirectory(root)
        } catch {
            throw .file(error, writing: true, what: "the document")
        }
        state.withLock {
            $0.manifests[uid] = nil
            $0.keys[uid] = nil
        }
        try? Posix.removeTree(trash)
    }

    // MARK: Pages

    /// Writes `pages` and commits a manifest that has them at `position` (nil: at the end).
    func insert(_ pages: [Page], into uid: String, at position: Int?, password: String?) throws(ScanBridgeError) -> UnlockedDocument {
        var document = try unlock(uid, password: password)
        let count = document.manifest.pages.count
        let position = position ?? count
        guard (0...count).contains(position) else {
            throw .storage(StorageErrorCode.indexOutOfRange, "Insert position \(position) is out of range 0…\(count).")
        }
        let folder = root + "/" + uid
        var written: [String] = []
        var committing = false
        var refs: [ManifestPage] = []
        var details: [PageDetails] = []
        do throws(ScanBridgeError) {
            for page in pages {
                var pageUID = Identifier.random()
                while document.manifest.pages.contains(where: { $0.uid == pageUID }) || refs.contains(where: { $0.uid == pageUID }) {
                    pageUID = Identifier.random()
                }
                let file = pageUID + ".page"
                let form = page.fileForm()
                let temporary = folder + "/.tmp-" + file
                do throws(Container.Failure) {
                    try Container.write(path: temporary, header: form.header, payload: form.payload, key: document.key,
                                        aad: Array("page:\(uid)/\(pageUID)".utf8), durable: true)
                } catch {
                    throw .container(error, writing: true, what: "page \(refs.count + 1) of \(pages.count)")
                }
                do throws(SystemCallError) {
                    try Posix.rename(temporary, folder + "/" + file)
                } catch {
                    try? Posix.unlink(temporary)
                    throw .file(error, writing: true, what: "page \(refs.count + 1) of \(pages.count)")
                }
                written.append(folder + "/" + file)
                refs.append(ManifestPage(uid: pageUID, file: file))
                details.append(PageDetails(uid: pageUID, width: page.info.width, height: page.info.height,
                                           format: page.info.format.rawValue, xDPI: page.info.xDPI, yDPI: page.info.yDPI,
                                           mediaType: page.mediaType, byteCount: page.byteCount,
                                           sha256: document.key == nil ? Self.hex(Crypto.sha256(form.header, form.payload)) : nil))
            }
            // The page files' names must be durable before a manifest names them.
            do throws(SystemCallError) { try Posix.fsyncDirectory(folder) } catch {
                throw .file(error, writing: true, what: "the document's pages")
            }
            document.manifest.pages.insert(contentsOf: refs, at: position)
            document.details.insert(contentsOf: details, at: position)
            committing = true
            try commit(&document)
        } catch {
            // The new page files go unless the manifest on disk names them: its rename can succeed
            // and the folder's fsync then fail, and a restart must find every page it names. When
            // that cannot be read, they stay; the next open removes the ones no manifest names.
            let named = committing && refs.first.map { first in
                (try? readManifest(folder: folder))?.pages.contains { $0.uid == first.uid } ?? true
            } == true
            if !named { for path in written { try? Posix.unlink(path) } }
            throw error
        }
        return document
    }

    enum PageReference: Sendable, Equatable {
        case uid(String)
        case index(Int)
    }

    func resolve(_ reference: PageReference, in document: UnlockedDocument) throws(ScanBridgeError) -> Int {
        switch reference {
        case .index(let index):
            guard index >= 0, index < document.manifest.pages.count else {
                throw .storage(StorageErrorCode.indexOutOfRange, "Page index \(index) is out of range: the document has \(document.manifest.pages.count) page(s).")
            }
            return index
        case .uid(let pageUID):
            guard Identifier.isValid(pageUID), let index = document.manifest.pages.firstIndex(where: { $0.uid == pageUID }) else {
                throw .storage(StorageErrorCode.pageNotFound, Identifier.isValid(pageUID) ? "The document has no page \(pageUID)." : "The page uid is not valid.")
            }
            return index
        }
    }

    func deletePage(_ reference: PageReference, from uid: String, password: String?) throws(ScanBridgeError) -> UnlockedDocument {
        var document = try unlock(uid, password: password)
        let index = try resolve(reference, in: document)
        let removed = document.manifest.pages.remove(at: index)
        document.details.remove(at: index)
        try commit(&document)
        try? Posix.unlink(root + "/" + uid + "/" + removed.file)
        removeRecognitions(pageUID: removed.uid, in: uid)
        return document
    }

    /// Puts the pages in the order of `pageUIDs`, which must name every page exactly once.
    func reorder(_ uid: String, pageUIDs: [String], password: String?) throws(ScanBridgeError) -> UnlockedDocument {
        var document = try unlock(uid, password: password)
        let current = document.manifest.pages.map(\.uid)
        guard pageUIDs.count == current.count, Set(pageUIDs) == Set(current) else {
            throw .storage(StorageErrorCode.indexOutOfRange, "The new order must list each of the document's \(current.count) page uids exactly once.")
        }
        let position = Dictionary(uniqueKeysWithValues: current.enumerated().map { ($0.element, $0.offset) })
        let pages = document.manifest.pages, details = document.details
        document.manifest.pages = pageUIDs.map { pages[position[$0]!] }
        document.details = pageUIDs.map { details[position[$0]!] }
        try commit(&document)
        return document
    }

    func readPage(_ reference: PageReference, of uid: String, password: String?) throws(ScanBridgeError) -> Page {
        let document = try unlock(uid, password: password)
        let index = try resolve(reference, in: document)
        let ref = document.manifest.pages[index]
        let path = root + "/" + uid + "/" + ref.file
        let parts: (header: [UInt8], payload: [UInt8])
        do throws(Container.Failure) {
            parts = try Container.read(path: path, key: document.key, aad: Array("page:\(uid)/\(ref.uid)".utf8))
        } catch {
            throw .container(error, writing: false, what: "page \(ref.uid)")
        }
        if let expected = document.details[index].sha256, Self.hex(Crypto.sha256(parts.header, parts.payload)) != expected {
            throw .storage(StorageErrorCode.readFailed, "Page \(ref.uid) is damaged (checksum mismatch).")
        }
        guard let page = Page(header: parts.header, payload: parts.payload) else {
            throw .storage(StorageErrorCode.readFailed, "Page \(ref.uid) is damaged.")
        }
        return page
    }

    // MARK: Manifest files

    /// Writes `document`'s manifest (sealing details when encrypted) and makes it current.
    private func commit(_ document: inout UnlockedDocument) throws(ScanBridgeError) {
        let uid = document.manifest.uid
        if let key = document.key {
            document.manifest.details = nil
            document.manifest.sealedDetails = try Self.sealDetails(document.details, key: key, uid: uid)
            document.manifest.metadata = nil
            document.manifest.sealedMetadata = document.metadata.isEmpty ? nil : try Self.sealMetadata(document.metadata, key: key, uid: uid)
        } else {
            document.manifest.details = document.details
            document.manifest.metadata = document.metadata.isEmpty ? nil : document.metadata
        }
        try writeManifest(document.manifest, folder: root + "/" + uid)
        let manifest = document.manifest
        state.withLock { $0.manifests[uid] = manifest }
    }

    /// temp file + fsync + rename over `manifest` + fsync of the folder.
    private func writeManifest(_ manifest: Manifest, folder: String) throws(ScanBridgeError) {
        let json: [UInt8]
        do { json = try ManifestJSON.encode(manifest) } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot encode the document index (a page's dpi is not a finite number).")
        }
        let temporary = folder + "/.tmp-manifest-" + Identifier.random()
        do throws(Container.Failure) {
            try Container.write(path: temporary, header: json, payload: [], key: nil, aad: [], durable: true)
        } catch {
            throw .container(error, writing: true, what: "the document index")
        }
        do throws(SystemCallError) {
            try Posix.rename(temporary, folder + "/" + Self.manifestName)
            try Posix.fsyncDirectory(folder)
        } catch {
            try? Posix.unlink(temporary)
            throw .file(error, writing: true, what: "the document index")
        }
    }

    private func readManifest(folder: String) throws -> Manifest {
        let parts = try Container.read(path: folder + "/" + Self.manifestName, key: nil, aad: [])
        return try JSONDecoder().decode(Manifest.self, from: Data(parts.header))
    }

    // MARK: Helpers

    private func remember(uid: String, password: String, salt: [UInt8], key: [UInt8]) {
        let fingerprint = Crypto.sha256(salt + Array(password.utf8))
        state.withLock { $0.keys[uid] = (fingerprint, key) }
    }

    /// nil for no password (absent or empty); rejects passwords over 32 characters.
    static func normalise(_ password: String?) throws(ScanBridgeError) -> String? {
        guard let password, !password.isEmpty else { return nil }
        guard password.count <= maxPasswordLength else {
            throw .storage(StorageErrorCode.passwordTooLong, "The password must not exceed \(maxPasswordLength) characters in length.")
        }
        return password
    }

    static func deriveKey(password: String, salt: [UInt8], n: UInt64, r: UInt64, p: UInt64) throws(ScanBridgeError) -> [UInt8] {
        do throws(Crypto.Failure) {
            return try Crypto.scrypt(password: Array(password.utf8), salt: salt, n: n, r: r, p: p)
        } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot derive the document key.", cause: .init(code: 0, message: error.operation))
        }
    }

    static func random(_ count: Int) throws(ScanBridgeError) -> [UInt8] {
        do throws(Crypto.Failure) { return try Crypto.randomBytes(count) } catch {
            throw .storage(StorageErrorCode.writeFailed, "No random bytes available.", cause: .init(code: 0, message: error.operation))
        }
    }

    static func seal(_ bytes: [UInt8], key: [UInt8], aad: [UInt8]) throws(ScanBridgeError) -> [UInt8] {
        do throws(Crypto.Failure) { return try Crypto.seal(bytes, key: key, aad: aad) } catch {
            throw .storage(StorageErrorCode.writeFailed, "Encryption failed.", cause: .init(code: 0, message: error.operation))
        }
    }

    static func sealDetails(_ details: [PageDetails], key: [UInt8], uid: String) throws(ScanBridgeError) -> String {
        let json = (try? JSONEncoder().encode(details)) ?? Data("[]".utf8)
        return Data(try seal(Array(json), key: key, aad: Array("details:\(uid)".utf8))).base64EncodedString()
    }

    static func sealMetadata(_ metadata: DocumentMetadata, key: [UInt8], uid: String) throws(ScanBridgeError) -> String {
        let json = (try? JSONEncoder().encode(metadata)) ?? Data("{}".utf8)
        return Data(try seal(Array(json), key: key, aad: Array("metadata:\(uid)".utf8))).base64EncodedString()
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    static func documentNotFound(_ uid: String) -> ScanBridgeError {
        .storage(StorageErrorCode.documentNotFound,
                 Identifier.isValid(uid) ? "No document has uid \(uid)." : "The document uid is not valid.")
    }
}
