import ScanBridgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One buffer's private folder inside the service's `cache/`: `cache/buffer-<random>/`, holding
/// a `.lock` file locked (flock) for as long as the buffer is open, and one encrypted file per
/// spilled page. The lock is how a later start tells a crashed run's folder (lock free: removed)
/// from a live one (lock held: kept). All methods block: call them on the buffer's queue.
struct CacheFolder: Sendable {
    static let prefix = "buffer-"
    static let lockName = ".lock"

    let path: String
    let lockDescriptor: Int32

    /// Removes the folders of buffers that are no longer running (their lock is free), then
    /// creates and locks a new folder. Returns the folder and how many stale folders were removed.
    static func create(in cacheRoot: String) throws(ScanBridgeError) -> (CacheFolder, removedStale: Int) {
        do throws(SystemCallError) {
            try Posix.makeDirectory(cacheRoot, existingOK: true)
        } catch {
            throw .file(error, writing: true, what: "the cache folder \(cacheRoot)")
        }
        let removed = sweepStale(in: cacheRoot)
        let name = prefix + Identifier.random()
        let path = cacheRoot + "/" + name
        do throws(SystemCallError) {
            try Posix.makeDirectory(path, existingOK: false)
            guard let fd = try Posix.tryLock(path + "/" + lockName) else {
                throw SystemCallError(call: "flock", path: path, errno: EWOULDBLOCK)
            }
            return (CacheFolder(path: path, lockDescriptor: fd), removed)
        } catch {
            try? Posix.removeTree(path)
            throw .file(error, writing: true, what: "the buffer's cache folder \(path)")
        }
    }

    /// Removes `buffer-*` folders whose lock nobody holds (left by a run that crashed).
    static func sweepStale(in cacheRoot: String) -> Int {
        guard let names = try? Posix.list(cacheRoot) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) {
            let folder = cacheRoot + "/" + name
            guard (try? Posix.kind(folder)) == .directory else { continue }
            // A folder without a lock file is being created right now, or its creator died
            // between mkdir and lock: remove it only when it is older than a minute.
            let lockPath = folder + "/" + lockName
            if (try? Posix.kind(lockPath)) == nil {
                if let age = Posix.ageSeconds(folder), age > 60 { try? Posix.removeTree(folder); removed += 1 }
                continue
            }
            guard let fd = try? Posix.tryLock(lockPath) else { continue }
            try? Posix.removeTree(folder)
            Posix.close(fd)
            removed += 1
        }
        return removed
    }

    func filePath(_ name: String) -> String { path + "/" + name }

    /// Removes the folder and everything in it, and releases the lock.
    func remove() {
        try? Posix.removeTree(path)
        Posix.close(lockDescriptor)
    }
}
