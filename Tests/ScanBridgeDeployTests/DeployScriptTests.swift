import Foundation
import Testing

/// The shell scripts of Deploy/: the maintainer scripts exactly as the packages carry them
/// (`package.sh scripts`), package.sh itself and uninstall.sh.
@Suite("deploy scripts")
struct DeployScriptTests {
    static let deploy = Deploy.repositoryRoot.appendingPathComponent("Deploy").path

    @Test("shellcheck finds no warnings in the maintainer scripts, package.sh and uninstall.sh", arguments: ["deb", "rpm"])
    func shellcheck(format: String) throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try Deploy.run("\(Self.deploy)/package.sh", ["scripts", format, folder])
        #expect(made.status == 0, "\(made.stderr)")
        let scripts = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(scripts == (format == "deb" ? ["postinst", "postrm", "prerm"] : ["post", "postun", "preun"]))
        let maintainer = try Deploy.run("/usr/bin/shellcheck", ["-S", "warning", "-s", "sh"] + scripts.map { "\(folder)/\($0)" })
        #expect(maintainer.status == 0, "\(maintainer.stdout)")
        let tools = try Deploy.run("/usr/bin/shellcheck", ["-S", "warning", "\(Self.deploy)/package.sh", "\(Self.deploy)/uninstall.sh"])
        #expect(tools.status == 0, "\(tools.stdout)")
    }

    @Test("maintainer scripts refuse an unknown action")
    func unknownAction() throws {
        let folder = try Deploy.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try Deploy.run("\(Self.deploy)/package.sh", ["scripts", "deb", folder])
        let result = try Deploy.run("\(folder)/postinst", ["frobnicate"], environment: Deploy.environment(["DPKG_ROOT": folder]))
        #expect(result.status == 1)
        #expect(result.stderr.contains("postinst called with unknown argument 'frobnicate'"))
    }

    @Test("uninstall.sh explains itself and rejects bad options before touching anything")
    func uninstallOptions() throws {
        let script = "\(Self.deploy)/uninstall.sh"
        let help = try Deploy.run(script, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--purge") && help.stdout.contains("--delete-documents"), "\(help.stdout)")
        let unknown = try Deploy.run(script, ["--force"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown option --force"))
        let documentsOnly = try Deploy.run(script, ["--delete-documents"])
        #expect(documentsOnly.status == 2)
        #expect(documentsOnly.stderr.contains("--delete-documents needs --purge"))
    }
}
