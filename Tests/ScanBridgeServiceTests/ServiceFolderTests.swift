import Foundation
import Testing
@testable import ScanBridgeService

@Suite("Service folder")
struct ServiceFolderTests {
    @Test("prepare creates the layout and the three ini files")
    func createsLayout() throws {
        let root = try TestSupport.temporaryFolder() + "/nested/home"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try ServiceFolder(root: root).prepare()
        for name in ServiceFolder.subfolders {
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDirectory) && isDirectory.boolValue, "\(name)/")
        }
        for name in ["DSConfiguration.ini", "service.ini", "user_config.ini"] {
            #expect(FileManager.default.fileExists(atPath: "\(root)/\(name)"), "\(name)")
        }
        #expect(try String(contentsOfFile: "\(root)/DSConfiguration.ini", encoding: .utf8) == DefaultConfigurationFile.render())
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).allSatisfy { !$0.hasPrefix(".write-probe") })
    }

    @Test("existing files are left alone")
    func keepsExistingFiles() throws {
        let root = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let mine = "[DS]\nLogLevel=30 // mine\n"
        try mine.write(toFile: "\(root)/DSConfiguration.ini", atomically: true, encoding: .utf8)
        try "custom".write(toFile: "\(root)/user_config.ini", atomically: true, encoding: .utf8)
        try ServiceFolder(root: root).prepare()
        try ServiceFolder(root: root).prepare()
        #expect(try String(contentsOfFile: "\(root)/DSConfiguration.ini", encoding: .utf8) == mine)
        #expect(try String(contentsOfFile: "\(root)/user_config.ini", encoding: .utf8) == "custom")
    }

    @Test("a file where the folder should be is refused with a clear message")
    func notADirectory() throws {
        let root = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = "\(root)/plain-file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            try ServiceFolder(root: file).prepare()
        } throws: { error in
            "\(error)" == "Service folder \(file) is not a directory."
        }
    }

    @Test("an unwritable folder is refused, naming the folder and the reason",
          .enabled(if: geteuid() != 0, "root can write anywhere; the CLI test covers this as an unprivileged user"))
    func unwritable() throws {
        let root = try TestSupport.temporaryFolder()
        defer { chmod(root, 0o755); try? FileManager.default.removeItem(atPath: root) }
        chmod(root, 0o555)
        #expect {
            try ServiceFolder(root: root).prepare()
        } throws: { error in
            "\(error)".hasPrefix("Service folder \(root) is not writable: Permission denied.")
        }
    }
}
