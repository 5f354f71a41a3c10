import Foundation
import ScanBridgeCore

/// Reads one job's journal file at start-up (blocking, on the journal's thread).
///
/// Records are read header by header (their bodies, the pages, stay on disk until asked for).
/// Where a header or meta does not check out, the rest of the file is searched for the next
/// record that does: found, the bad stretch was damaged in place and is skipped; not found, it
/// is the tail a crash left half-written, and the file is cut back to the last whole record.
/// The last page record's body is checked in full, because only the last append can have been
/// torn with a whole header.
struct JournalReader {
    let path: String
    let job: String
    let key: [UInt8]

    private struct Found {
        var offset: Int
        var header: JournalRecord.Header
        var end: Int
    }

    /// The job, or nil when the file holds no whole job record.
    func recover() throws(ScanBridgeError) -> RecoveredJob? {
        do throws(SystemCallError) {
            let fd = try Posix.openForReading(path)
            defer { Posix.close(fd) }
            let size = try Posix.fileSize(fd, path)
            var records: [Found] = []
            var damaged = 0
            var offset = 0
            var validEnd = 0
            while offset < size {
                if let found = try record(fd, at: offset, size: size) {
                    records.append(found)
                    offset = found.end
                    validEnd = offset
                } else if let next = try nextRecord(fd, after: offset, size: size) {
                    damaged += 1
                    offset = next
                } else {
                    break
                }
            }
            // The last page's body: a power cut can leave its blocks unwritten behind a whole header.
            if let last = records.last, last.header.kind == .page,
               let page = journaledPage(last), (try? page.read()) == nil {
                records.removeLast()
                validEnd = last.offset
            }
            let torn = size - validEnd
            if torn > 0 {
                let writer = try Posix.openForAppending(path)
                defer { Posix.close(writer) }
                try Posix.truncate(writer, length: validEnd, path)
                try Posix.fsync(writer, path)
            }
            guard let first = records.first, first.header.kind == .job else { return nil }
            var pages: [JournaledPage] = []
            var end: JournaledJobEnd?
            var seen = Set<String>()
            for found in records.dropFirst() {
                switch found.header.kind {
                case .page:
                    guard let page = journaledPage(found), !seen.contains(page.meta.uid) else { damaged += 1; continue }
                    seen.insert(page.meta.uid)
                    pages.append(page)
                case .end:
                    end = try? JSONDecoder().decode(JournaledJobEnd.self, from: Data(found.header.meta))
                case .job:
                    damaged += 1
                }
            }
            return RecoveredJob(uid: job, details: first.header.meta, pages: pages, end: end,
                                lastWrite: Posix.modificationTime(path) ?? 0, damagedRecords: damaged, tornBytes: torn)
        } catch {
            throw .file(error, writing: false, what: "the journal of job \(job)")
        }
    }

    private func journaledPage(_ found: Found) -> JournaledPage? {
        guard let meta = try? JSONDecoder().decode(JournaledPageMeta.self, from: Data(found.header.meta)), meta.info != nil else { return nil }
        return JournaledPage(job: job, meta: meta, path: path, bodyOffset: found.end - found.header.bodyLength,
                             bodyLength: found.header.bodyLength, key: key)
    }

    /// The record at `offset` when its header and meta check out and its body lies inside the file.
    private func record(_ fd: Int32, at offset: Int, size: Int) throws(SystemCallError) -> Found? {
        guard size - offset >= JournalRecord.headerLength else { return nil }
        let fixed = try read(fd, count: JournalRecord.headerLength, at: offset)
        guard let fixed, let parsed = JournalRecord.parseFixed(fixed) else { return nil }
        let end = offset + JournalRecord.headerLength + parsed.metaLength + parsed.bodyLength
        guard end <= size, let meta = try read(fd, count: parsed.metaLength, at: offset + JournalRecord.headerLength),
              let header = JournalRecord.verify(fixed: fixed, meta: meta) else { return nil }
        return Found(offset: offset, header: header, end: end)
    }

    /// The offset of the next whole record after `offset`, searching the rest of the file.
    private func nextRecord(_ fd: Int32, after offset: Int, size: Int) throws(SystemCallError) -> Int? {
        let chunk = 1 << 20
        var start = offset + 1
        while start < size {
            let count = min(chunk + JournalRecord.magic.count, size - start)
            guard let bytes = try read(fd, count: count, at: start) else { return nil }
            var index = 0
            while index + JournalRecord.magic.count <= bytes.count {
                if bytes[index] == JournalRecord.magic[0], Array(bytes[index..<(index + 4)]) == JournalRecord.magic,
                   try record(fd, at: start + index, size: size) != nil {
                    return start + index
                }
                index += 1
            }
            start += chunk
        }
        return nil
    }

    private func read(_ fd: Int32, count: Int, at offset: Int) throws(SystemCallError) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let complete = try Posix.readExactly(fd, into: &bytes, at: offset, path)
        return complete ? bytes : nil
    }
}
