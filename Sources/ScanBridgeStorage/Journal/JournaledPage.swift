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

    /// The sealed body of a page for a record: nonce ‖ AES-256-GCM(u32le header length ‖ header
    /// ‖ payload) ‖ tag, encrypted chunk by chunk into the record as it is written (a colour
    /// page's stored form is megabytes; neither a plaintext nor a sealed copy of it is made).
    struct Seal: Sendable {
        let prefix: [UInt8]
        let payload: [UInt8]
        let associatedData: [UInt8]
        let key: [UInt8]

        init(_ page: Page, job: String, uid: String, key: [UInt8]) {
            let form = page.fileForm()
            prefix = withUnsafeBytes(of: UInt32(form.header.count).littleEndian) { Array($0) } + form.header
            payload = form.payload
            associatedData = JournaledPage.associatedData(job: job, page: uid)
            self.key = key
        }

        var length: Int { Crypto.nonceLength + prefix.count + payload.count + Crypto.tagLength }

        /// Seals the page into `writer` (a fresh nonce each time). Blocking CPU work: the journal's thread.
        func write(to writer: inout JournalRecordWriter) throws {
            let nonce = try Crypto.randomBytes(Crypto.nonceLength)
            let gcm = try Crypto.GCM(key: key, nonce: nonce, aad: associatedData, encrypting: true)
            try writer.put(nonce)
            try writer.putEncrypted(prefix, with: gcm)
            try writer.putEncrypted(payload, with: gcm)
            try writer.put(try gcm.finishEncrypting())
        }
    }
}
