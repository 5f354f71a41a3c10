import Foundation
import Testing

/// The .deb and .rpm that `make deb` / `make rpm` build. Building them needs a release build,
/// so `make test-deploy` builds both once and runs this suite with their paths in
/// SCANBRIDGE_DEB and SCANBRIDGE_RPM; plain `make test` skips it (CI runs both targets).
@Suite("packages")
struct PackageTests {
    static let deb = ProcessInfo.processInfo.environment["SCANBRIDGE_DEB"] ?? ""
    static let rpm = ProcessInfo.processInfo.environment["SCANBRIDGE_RPM"] ?? ""

    static let expectedFiles = [
        "/opt/scanbridge/bin/scanbridge", "/opt/scanbridge/bin/swift-backtrace", "/opt/scanbridge/share/DSConfiguration.ini",
        "/opt/scanbridge/uninstall.sh", "/opt/scanbridge/README.md", "/usr/lib/systemd/user/scanbridge.service",
        "/usr/bin/scanbridge", "/usr/share/doc/scanbridge/copyright",
    ]

    /// An empty dpkg root: a database and the account files useradd/groupadd --prefix edit.
    static func throwawayRoot() throws -> String {
        let root = try Deploy.temporaryFolder()
        for folder in ["var/lib/dpkg/updates", "var/lib/dpkg/info", "etc"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        let files = ["var/lib/dpkg/status": "", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
                     "etc/group": "root:x:0:\nvideo:x:44:\n", "etc/shadow": "root:*:19000:0:99999:7:::\n",
                     "etc/gshadow": "root:*::\nvideo:*::\n"]
        for (path, contents) in files { try contents.write(toFile: "\(root)/\(path)", atomically: true, encoding: .utf8) }
        return root
    }

    /// dpkg on the throwaway root. Maintainer scripts run outside a chroot with DPKG_ROOT set
    /// (they honour it); the root has no libraries, so dependencies are not checked.
    static func dpkg(_ root: String, _ arguments: [String]) throws -> Child.Result {
        try Deploy.run("/usr/bin/dpkg", ["--root=\(root)", "--force-script-chrootless", "--force-depends", "--force-not-root"] + arguments)
    }

    @Test("dpkg-deb -c lists the expected files", .enabled(if: !deb.isEmpty, "make test-deploy sets SCANBRIDGE_DEB"))
    func debContents() throws {
        let listing = try Deploy.run("/usr/bin/dpkg-deb", ["-c", Self.deb]).stdout
        let paths = Set(listing.split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first.map { String($0.dropFirst()) }
        })
        for file in Self.expectedFiles + ["/lib/systemd/system/scanbridge.service", "/usr/share/lintian/overrides/scanbridge"] {
            #expect(paths.contains(file), "\(file) missing from \(listing)")
        }
        let control = try Deploy.run("/usr/bin/dpkg-deb", ["-f", Self.deb, "Depends"]).stdout
        #expect(control.contains("libsane1"), "shared-library dependencies come from dpkg-shlibdeps: \(control)")
        #expect(!control.contains("swift"), "the Swift runtime is linked in")
    }

    @Test("the .deb installs into a throwaway root, upgrades keeping data and configuration, removes, purges",
          .enabled(if: !deb.isEmpty, "make test-deploy sets SCANBRIDGE_DEB"))
    func debInstallUpgradeRemove() throws {
        let root = try Self.throwawayRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let opt = "\(root)/opt/scanbridge"

        let install = try Self.dpkg(root, ["-i", Self.deb])
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        let version = try Deploy.run("\(opt)/bin/scanbridge", ["version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("scanbridge "), "\(version.stdout)")
        #expect(try Deploy.run("\(opt)/bin/scanbridge", ["serve", "--help"]).stdout.contains("--home"))
        // Release builds have no debug options.
        let crash = try Deploy.run("\(opt)/bin/scanbridge", ["serve", "--home", "\(root)/h", "--debug-crash-after", "1"], timeout: 20)
        #expect(crash.status == 64 && crash.stderr.contains("Unknown option"), "\(crash.stderr)")

        // postinst: the user in group scanner, the folders, the configuration.
        let passwd = Deploy.read("\(root)/etc/passwd")
        #expect(passwd.contains("scanbridge:x:") && passwd.contains(":/opt/scanbridge:/usr/sbin/nologin"), "\(passwd)")
        #expect(Deploy.read("\(root)/etc/group").split(separator: "\n").contains { $0.hasPrefix("scanner:") && $0.hasSuffix(":scanbridge") })
        for folder in ["cache", "cert", "dump", "log", "upload", "storage"] {
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: "\(opt)/\(folder)", isDirectory: &isDirectory) && isDirectory.boolValue, "\(folder)")
        }
        #expect(Deploy.read("\(opt)/DSConfiguration.ini") == Deploy.read("\(opt)/share/DSConfiguration.ini"))
        #expect(install.stdout.contains("services are not enabled or started in another root"), "\(install.stdout)")

        // The administrator's changes: configuration, a stored document, a replaced certificate.
        try "[DS]\nLogLevel = 30\n".write(toFile: "\(opt)/DSConfiguration.ini", atomically: true, encoding: .utf8)
        try "document".write(toFile: "\(opt)/storage/doc-1", atomically: true, encoding: .utf8)
        try "my server certificate".write(toFile: "\(opt)/cert/server.pem", atomically: true, encoding: .utf8)
        try "my key".write(toFile: "\(opt)/cert/server_key.pem", atomically: true, encoding: .utf8)

        // Upgrade (the same package again runs the upgrade path: prerm upgrade, postinst configure <old>).
        let upgrade = try Self.dpkg(root, ["-i", Self.deb])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        #expect(Deploy.read("\(opt)/DSConfiguration.ini") == "[DS]\nLogLevel = 30\n")
        #expect(Deploy.read("\(opt)/storage/doc-1") == "document")
        #expect(Deploy.read("\(opt)/cert/server.pem") == "my server certificate")
        #expect(Deploy.occurrences(of: "scanbridge:x:", in: Deploy.read("\(root)/etc/passwd")) == 1)

        // Remove: the programs go, data and configuration stay.
        let remove = try Self.dpkg(root, ["-r", "scanbridge"])
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(opt)/bin/scanbridge"))
        #expect(Deploy.read("\(opt)/DSConfiguration.ini") == "[DS]\nLogLevel = 30\n")
        #expect(Deploy.read("\(opt)/storage/doc-1") == "document")
        #expect(FileManager.default.fileExists(atPath: "\(opt)/.removed"), "the removal is remembered")

        // Installing again after a removal is a fresh install for the unit (enabled, started)
        // and keeps the data.
        let again = try Self.dpkg(root, ["-i", Self.deb])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(opt)/.removed"))
        #expect(Deploy.read("\(opt)/storage/doc-1") == "document")
        #expect(try Self.dpkg(root, ["-r", "scanbridge"]).status == 0)

        // Purge: configuration, certificates and logs go; stored documents stay.
        let purge = try Self.dpkg(root, ["--purge", "scanbridge"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(opt)/DSConfiguration.ini"))
        #expect(!FileManager.default.fileExists(atPath: "\(opt)/cert"))
        #expect(!FileManager.default.fileExists(atPath: "\(opt)/.removed"))
        #expect(Deploy.read("\(opt)/storage/doc-1") == "document")
        #expect(purge.stdout.contains("kept") || purge.stderr.contains("kept"))
    }

    @Test("lintian reports no errors on the .deb", .enabled(if: !deb.isEmpty, "make test-deploy sets SCANBRIDGE_DEB"))
    func lintian() throws {
        let result = try Deploy.run("/usr/bin/lintian", ["--tag-display-limit", "0", Self.deb], timeout: 600)
        let lines = (result.stdout + result.stderr).split(separator: "\n")
        print("lintian:\n" + lines.joined(separator: "\n"))
        #expect(lines.filter { $0.hasPrefix("E:") }.isEmpty)
        #expect(result.status == 0, "lintian exits non-zero on errors")
    }

    @Test("rpm -qlp lists the expected files; the scriptlets are the shared maintainer functions",
          .enabled(if: !rpm.isEmpty, "make test-deploy sets SCANBRIDGE_RPM"))
    func rpmContents() throws {
        let listing = try Deploy.run("/usr/bin/rpm", ["-qlp", Self.rpm])
        #expect(listing.status == 0, "\(listing.stderr)")
        let paths = Set(listing.stdout.split(separator: "\n").map(String.init))
        for file in Self.expectedFiles + ["/usr/lib/systemd/system/scanbridge.service"] {
            #expect(paths.contains(file), "\(file) missing from \(listing.stdout)")
        }
        let scripts = try Deploy.run("/usr/bin/rpm", ["-qp", "--scripts", Self.rpm]).stdout
        for part in ["postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "sb_configure install", "sb_stop_and_disable"] {
            #expect(scripts.contains(part), "\(part)")
        }
        let requires = try Deploy.run("/usr/bin/rpm", ["-qp", "--requires", Self.rpm]).stdout
        #expect(requires.contains("libsane.so.1"), "\(requires)")
    }

    @Test("the .rpm installs into a throwaway root, its scanbridge runs, its scriptlets set up and leave the data",
          .enabled(if: !rpm.isEmpty, "make test-deploy sets SCANBRIDGE_RPM"))
    func rpmInstall() throws {
        let root = try Self.throwawayRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let opt = "\(root)/opt/scanbridge"
        // rpm runs scriptlets in a chroot, which this root (no shell, no libraries) cannot host:
        // rpm installs the files, then the test runs each scriptlet the way rpm would ($1 as rpm
        // passes it), outside the chroot with DPKG_ROOT pointing at the root (the functions honour it).
        #expect(try Deploy.run("/usr/bin/rpm", ["--root", root, "--initdb"]).status == 0)
        let install = try Deploy.run("/usr/bin/rpm", ["--root", root, "-i", "--nodeps", "--noscripts", Self.rpm])
        #expect(install.status == 0, "\(install.stderr)")
        let version = try Deploy.run("\(opt)/bin/scanbridge", ["version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("scanbridge "), "\(version.stderr)")
        #expect(try Deploy.run("/usr/bin/rpm", ["--root", root, "-q", "scanbridge"]).status == 0)

        func scriptlet(_ tag: String, _ argument: String) throws -> Child.Result {
            let body = try Deploy.run("/usr/bin/rpm", ["-qp", "--queryformat", "%{\(tag)}", Self.rpm]).stdout
            return try Deploy.run("/bin/sh", ["-c", body, "scriptlet", argument], environment: Deploy.environment(["DPKG_ROOT": root]))
        }
        let post = try scriptlet("POSTIN", "1")
        #expect(post.status == 0, "\(post.stdout)\(post.stderr)")
        #expect(Deploy.read("\(root)/etc/passwd").contains("scanbridge:x:"))
        #expect(Deploy.read("\(opt)/DSConfiguration.ini") == Deploy.read("\(opt)/share/DSConfiguration.ini"))
        #expect(FileManager.default.fileExists(atPath: "\(opt)/storage"))
        try "document".write(toFile: "\(opt)/storage/doc-1", atomically: true, encoding: .utf8)
        #expect(try scriptlet("POSTIN", "2").status == 0, "upgrade")

        #expect(try scriptlet("PREUN", "0").status == 0)
        let erase = try Deploy.run("/usr/bin/rpm", ["--root", root, "-e", "--noscripts", "scanbridge"])
        #expect(erase.status == 0, "\(erase.stderr)")
        #expect(try scriptlet("POSTUN", "0").status == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(opt)/bin/scanbridge"))
        #expect(Deploy.read("\(opt)/storage/doc-1") == "document")
        #expect(FileManager.default.fileExists(atPath: "\(opt)/DSConfiguration.ini"))
    }
}
