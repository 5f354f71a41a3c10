import Foundation
import ScanBridgeCore
import ScanBridgeImaging

/// What a page record's meta says about its page: the ids clients were given, its number in
/// the job, and the picture its stored form holds. Written in clear beside the sealed page so
/// that recovery lists pages without reading their bodies.
public struct JournaledPageMeta: Sendable, Equatable, Codable {
    /// The buffer id (DWT `imageId`) and uid (DWT `imageuid`) the page was announced with.
    public var id: Int
    public var uid: String
    /// The page's number in its job (1-based, as `ImageLayout.PageNumber`).
    public var pageNumber: Int
    public var width: Int
    public var height: Int
    public var format: String
    public var xDPI: Double
    public var yDPI: Double
    /// The stored form's media type; nil when a raw page was journaled.
    public var mediaType: String?
    /// Bytes of the page's content.
    public var byteCount: Int

    public init(id: Int, uid: String, pageNumber: Int, page: Page) {
        self.id = id
        self.uid = uid
        self.pageNumber = pageNumber
        width = page.info.width
        height = page.info.height
        format = page.info.format.rawValue
        xDPI = page.info.xDPI
        yDPI = page.info.yDPI
        mediaType = page.mediaType
        byteCount = page.byteCount
    }

    public var info: PageInfo? {
        PixelFormat(rawValue: format).map { PageInfo(width: width, height: height, format: $0, xDPI: xDPI, yDPI: yDPI) }
    }
}

/// A page held in a job's journal file: its meta and where its sealed body lies. `read()`
/// brings the page back byte-exact, or fails (-1036) when the body does not authenticate
/// (damaged on disk): a damaged page is reported, never served.
public struct JournaledPage: Sendable, Equatable {
    public var job: String
    public var meta: JournaledPageMeta
    let path: String
    let bodyOffset: Int
    let bodyLength: Int
    let key: [UInt8]

    /// The associated data of a page's seal: it binds the body to its job and page uid, so a
    /// body copied into another record does not authenticate.
    static func associatedData(job: String, page: String) -> [UInt8] { Array("journal/\(job)/\(page)".utf8) }

    /// Reads and opens the page. Blocks: call it on a storage thread.
    public func read() throws(ScanBridgeError) -> Page {
        var body = [UInt8](repeating: 0, count: bodyLength)
        let complete: Bool
        do throws(SystemCallError) {
            let fd = try Posix.openForReading(path)
            defer { Posix.close(fd) }
            complete = try Posix.readExactly(fd, into: &body, at: bodyOffset, path)
        } catch {
            throw .file(error, writing: false, what: "page \(meta.pageNumber) of job \(job) in the journal")
        }
        guard complete else { throw damaged("it is cut short") }
        guard let plain = Crypto.open(body, key: key, aad: Self.associatedData(job: job, page: meta.uid)) else {
            throw damaged("it does not authenticate (bytes changed on disk)")
        }
        guard plain.count >= 4 else { throw damaged("it is cut short") }
        let headerLength = Int(UInt32(littleEndian: plain, at: 0))
        guard headerLength <= plain.count - 4,
              let page = Page(header: Array(plain[4..<(4 + headerLength)]), payload: Array(plain[(4 + headerLength)...])) else {
            throw damaged("its header is not a page header")
        }
        return page
    }

    private func damaged(_ why: String) -> ScanBridgeError {
        .storage(StorageErrorCode.readFailed, "Page \(meta.pageNumber) (\(meta.uid)) of job \(job) is damaged in the journal: \(why); it is not served.",
                 cause: .init(code: 0, message: path))
    }

    /// The sealed body of `page` for a record: nonce ‖ AES-256-GCM(u32le header length ‖ header
    /// ‖ payload) ‖ tag, encrypted straight into the one array it returns (a colour page's stored
    /// form is megabytes; no plaintext copy is made).
    static func seal(_ page: Page, job: String, uid: String, key: [UInt8]) throws(ScanBridgeError) -> [UInt8] {
        let form = page.fileForm()
        let prefix = withUnsafeBytes(of: UInt32(form.header.count).littleEndian) { Array($0) } + form.header
        let total = Crypto.nonceLength + prefix.count + form.payload.count + Crypto.tagLength
        do throws(Crypto.Failure) {
            let nonce = try Crypto.randomBytes(Crypto.nonceLength)
            let gcm = try Crypto.GCM(key: key, nonce: nonce, aad: associatedData(job: job, page: uid), encrypting: true)
            var failure: Crypto.Failure?
            let sealed = [UInt8](unsafeUninitializedCapacity: total) { storage, initialized in
                let output = UnsafeMutableRawBufferPointer(storage)
                var offset = 0
                func put(_ bytes: [UInt8], encrypt: Bool) {
                    guard failure == nil, !bytes.isEmpty else { return }
                    bytes.withUnsafeBytes { input in
                        if encrypt {
                            do throws(Crypto.Failure) { try gcm.update(input.baseAddress!, output.baseAddress! + offset, count: input.count) } catch { failure = error }
                        } else {
                            (output.baseAddress! + offset).copyMemory(from: input.baseAddress!, byteCount: input.count)
                        }
                    }
                    offset += bytes.count
                }
                put(nonce, encrypt: false)
                put(prefix, encrypt: true)
                put(form.payload, encrypt: true)
                if failure == nil {
                    do throws(Crypto.Failure) { put(try gcm.finishEncrypting(), encrypt: false) } catch { failure = error }
                }
                initialized = failure == nil ? total : 0
            }
            if let failure { throw failure }
            return sealed
        } catch {
            throw .storage(StorageErrorCode.writeFailed, "Cannot seal a page for the journal.", cause: .init(code: 0, message: error.operation))
        }
    }
}
