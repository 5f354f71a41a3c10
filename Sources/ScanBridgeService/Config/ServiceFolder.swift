import Foundation
import ScanBridgeCore

/// The service folder (installed: `/opt/scanbridge`; development: `.dev/home` in the repo) and
/// the layout the Dynamsoft Service uses inside it.
public struct ServiceFolder: Sendable {
    public static let subfolders = ["cache", "cert", "dump", "log", "upload", "storage", "journal"]

    public var root: String

    public init(root: String) {
        self.root = (root as NSString).standardizingPath
    }

    public func path(_ component: String) -> String { (root as NSString).appendingPathComponent(component) }

    public var cache: String { path("cache") }
    public var cert: String { path("cert") }
    public var dump: String { path("dump") }
    public var log: String { path("log") }
    public var upload: String { path("upload") }
    public var storage: String { path("storage") }
    /// The page journal of scan jobs (`PageJournal`).
    public var journal: String { path("journal") }
    public var configurationFile: String { path(LoadedConfiguration.fileName) }

    public struct PreparationError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Creates the folder, its subfolders, and `DSConfiguration.ini`, `service.ini` and
    /// `user_config.ini` when absent; existing files are never touched. Fails with a message that
    /// names the folder and the reason when it cannot be created or written.
    public func prepare() throws(PreparationError) {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: root, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw PreparationError(description: "Service folder \(root) is not a directory.")
        }
        do {
            try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw PreparationError(description: "Cannot create the service folder \(root): \(Self.reason(error)).")
        }
        try checkWritable()
        for name in Self.subfolders {
            do {
                try files.createDirectory(atPath: path(name), withIntermediateDirectories: true)
            } catch {
                throw PreparationError(description: "Cannot create \(path(name)): \(Self.reason(error)).")
            }
        }
        try writeIfAbsent(LoadedConfiguration.fileName, DefaultConfigurationFile.render())
        try writeIfAbsent("service.ini", """
            ; service.ini: state the service keeps about itself. Written by ScanBridge; safe to delete.
            [Service]
            CreatedBy = ScanBridge \(ProductVersion.semantic)

            """)
        try writeIfAbsent("user_config.ini", """
            ; user_config.ini: per-user preferences (for example the last scanner used).
            ; Written by ScanBridge; safe to delete.
            [User]

            """)
    }

    /// Creating a file is the only honest test of writability (root ignores mode bits, read-only
    /// mounts ignore them too).
    private func checkWritable() throws(PreparationError) {
        let probe = path(".write-probe-\(getpid())")
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let cause = ScanBridgeError.Cause.errno(errno)
            throw PreparationError(description: "Service folder \(root) is not writable: \(cause.message). Choose another folder with --home or fix its permissions.")
        }
        close(fd)
        unlink(probe)
    }

    private func writeIfAbsent(_ name: String, _ contents: String) throws(PreparationError) {
        let target = path(name)
        guard !FileManager.default.fileExists(atPath: target) else { return }
        do {
            try contents.write(toFile: target, atomically: true, encoding: .utf8)
        } catch {
            throw PreparationError(description: "Cannot write \(target): \(Self.reason(error)).")
        }
    }

    private static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
