#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import ScanBridgeCore

/// The service folder as `serve` needs it: a directory, its subfolders directories the current
/// user can create files in, and the private keys not readable by every user.
///
/// Writability is tested by creating a file, as `ServiceFolder.prepare` does: mode bits say
/// nothing for root or on a read-only mount. A folder another user owns that refuses the
/// current user is reported as a warning (the service may run as that user; the doctor then
/// cannot tell), anything else that refuses as a failure.
public enum ServiceFolderDiagnosis {
    public static let check = "service-folder"

    public static func run(folder: ServiceFolder) -> DiagnosticFinding {
        let user = currentUserName()
        let asOwner = "Run the doctor as the folder's owner (for the packages: `sudo -u scanbridge scanbridge doctor --home \(folder.root)`)."
        guard let root = status(folder.root) else {
            return .fail(check, "\(folder.root) does not exist",
                         advice: "Start the service once or run `scanbridge cert --home \(folder.root)`: both create it. Or point --home (SCANBRIDGE_HOME) at the right folder.")
        }
        guard root.isDirectory else {
            return .fail(check, "\(folder.root) is not a directory", advice: "Move that file away or choose another folder with --home.")
        }
        var failures: [String] = [], doubts: [String] = [], missing: [String] = []
        let rootWritable = probeWrite(folder.root)
        switch rootWritable {
        case nil: break
        case let code? where code == EACCES && root.owner != geteuid(): doubts.append("\(folder.root) (owner \(root.ownerName)) refuses \(user)")
        case let code?: failures.append("\(folder.root) is not writable: \(String(cString: strerror(code)))")
        }
        for name in ServiceFolder.subfolders {
            let path = folder.path(name)
            guard let entry = status(path) else {
                missing.append(name)
                continue
            }
            guard entry.isDirectory else {
                failures.append("\(path) is not a directory")
                continue
            }
            switch probeWrite(path) {
            case nil: break
            case let code? where code == EACCES && entry.owner != geteuid(): doubts.append("\(path) (owner \(entry.ownerName)) refuses \(user)")
            case let code?: failures.append("\(path) is not writable: \(String(cString: strerror(code)))")
            }
        }
        if !missing.isEmpty {
            let list = missing.joined(separator: ", ")
            if rootWritable == nil { doubts.append("missing subfolders (\(list)), which the service creates when it starts") }
            else { failures.append("missing subfolders \(list) and the folder cannot be written to create them") }
        }
        for key in ["server_key.pem", "ca_key.pem", "private/ca_key.pem"] {
            let path = (folder.cert as NSString).appendingPathComponent(key)
            if let entry = status(path), entry.mode & 0o004 != 0 {
                failures.append("the private key \(path) is readable by every user (mode \(String(entry.mode & 0o777, radix: 8)))")
            }
        }
        if !failures.isEmpty {
            var advice = "Fix the folder so that the service's user can write every subfolder (\(ServiceFolder.subfolders.joined(separator: ", "))): replace files that stand where a folder should be, remount read-write, or choose another folder with --home."
            if failures.contains(where: { $0.contains("private key") }) {
                advice += " Make the keys private: chmod 600 \(folder.cert)/*_key.pem."
            }
            return .fail(check, (failures + doubts).joined(separator: "; "), advice: advice)
        }
        if !doubts.isEmpty {
            return .warning(check, doubts.joined(separator: "; "), advice: asOwner)
        }
        let owner = root.owner == geteuid() ? "owned by \(user)" : "owned by \(root.ownerName), writable by \(user)"
        return .ok(check, "\(folder.root) (\(owner)) and \(ServiceFolder.subfolders.joined(separator: ", ")) are writable; the private keys are not readable by other users")
    }

    struct Entry {
        var isDirectory: Bool
        var owner: uid_t
        var mode: mode_t

        var ownerName: String {
            guard let entry = getpwuid(owner) else { return "uid \(owner)" }
            return String(cString: entry.pointee.pw_name)
        }
    }

    static func status(_ path: String) -> Entry? {
        var info = stat()
        guard (try? Syscall.checked("stat", path: path) { stat(path, &info) }) != nil else { return nil }
        return Entry(isDirectory: info.st_mode & S_IFMT == S_IFDIR, owner: info.st_uid, mode: info.st_mode)
    }

    /// Nil when a file can be created in `directory`, else the errno that refused it.
    static func probeWrite(_ directory: String) -> Int32? {
        let probe = (directory as NSString).appendingPathComponent(".doctor-probe-\(getpid())")
        do throws(SystemCallError) {
            let descriptor = try Syscall.checked("open", path: probe) { open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600) }
            Syscall.close(descriptor)
            unlink(probe)
            return nil
        } catch {
            return error.errno
        }
    }
}
