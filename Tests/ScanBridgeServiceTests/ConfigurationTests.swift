import Foundation
import Testing
@testable import ScanBridgeService

@Suite("Configuration")
struct ConfigurationTests {
    private func seed(environment: [String: String] = [:], overrides: [ConfigurationOverride] = []) throws -> LoadedConfiguration {
        try LoadedConfiguration.load(text: try TestSupport.fixture("seed-DSConfiguration.ini"), path: "/srv/DSConfiguration.ini",
                                     environment: environment, overrides: overrides)
    }

    @Test("the seed's file yields the four listeners and LogLevel 1")
    func seedListeners() throws {
        let settings = try seed().settings
        #expect(settings.logLevel == 1)
        #expect(settings.dsVersion == "1.5.0.0328")
        #expect(settings.listeners == [
            .init(role: .dcp, port: 18625, secure: false), .init(role: .dwt, port: 18622, secure: false),
            .init(role: .dcp, port: 18626, secure: true), .init(role: .dwt, port: 18623, secure: true),
        ])
    }

    @Test("every value says where it came from")
    func sources() throws {
        let loaded = try seed()
        let source = { (name: String) in loaded.values.first { $0.key.name == name }?.source }
        #expect(source("Port_mp_0") == .file(path: "/srv/DSConfiguration.ini", line: 4))
        #expect(source("IOEngine") == .builtInDefault)
    }

    @Test("precedence: default < file < environment < command line")
    func precedence() throws {
        let fromEnvironment = try seed(environment: ["SCANBRIDGE_LOGLEVEL": "30", "SCANBRIDGE_PORT_MP_1": "28622"])
        #expect(fromEnvironment.settings.logLevel == 30)
        #expect(fromEnvironment.settings.listeners[1].port == 28622)
        #expect(fromEnvironment.values.first { $0.key.name == "LogLevel" }?.source == .environment(variable: "SCANBRIDGE_LOGLEVEL"))

        let fromFlag = try seed(environment: ["SCANBRIDGE_LOGLEVEL": "30"],
                                overrides: [.init(key: "LogLevel", value: "0", flag: "--log-level")])
        #expect(fromFlag.settings.logLevel == 0)
        #expect(fromFlag.values.first { $0.key.name == "LogLevel" }?.source == .commandLine(flag: "--log-level"))
    }

    @Test("a bad value names the file, the line and the key", arguments: [
        ("[DS]\nLogLevel = loud\n", "/srv/DSConfiguration.ini:2: key LogLevel: expected an integer, got \"loud\""),
        ("[DS]\nPort=2\nPort_mp_1 = 70000 // too big\n", "/srv/DSConfiguration.ini:3: key Port_mp_1: 70000 is out of range 0…65535"),
        ("[ScanBridge]\nIOEngine = kqueue\n", "/srv/DSConfiguration.ini:2: key IOEngine: expected one of auto, io_uring, epoll, got \"kqueue\""),
        ("[DS]\nPort_mn_0 = web\n", "/srv/DSConfiguration.ini:2: key Port_mn_0: expected one of dwt, dcp, got \"web\""),
    ])
    func badValues(text: String, message: String) {
        #expect(throws: ConfigurationError(message)) {
            try LoadedConfiguration.load(text: text, path: "/srv/DSConfiguration.ini")
        }
    }

    @Test("bad environment values and unknown --set keys are named too")
    func badOverrides() throws {
        #expect(throws: ConfigurationError("environment variable SCANBRIDGE_LOGLEVEL: expected an integer, got \"x\"")) {
            try seed(environment: ["SCANBRIDGE_LOGLEVEL": "x"])
        }
        #expect(throws: ConfigurationError("--set Colour=red: unknown configuration key \"Colour\" (see `scanbridge config defaults`)")) {
            try seed(overrides: [.init(key: "Colour", value: "red", flag: "--set Colour=red")])
        }
    }

    @Test("a listener count without its pair, and two listeners on one port, are refused")
    func listenerConsistency() {
        #expect(throws: ConfigurationError("Port is 3 but Port_mn_2 is not set; add it to DSConfiguration.ini")) {
            try LoadedConfiguration.load(text: "[DS]\nPort=3\n", path: "f")
        }
        #expect(throws: ConfigurationError("Port_mp_1 (f:2): port 18625 is already used by the HTTP dcp listener")) {
            try LoadedConfiguration.load(text: "[DS]\nPort_mp_1=18625\n", path: "f")
        }
    }

    @Test("unknown keys are reported and survive a rewrite")
    func unknownKeysSurvive() throws {
        let text = try TestSupport.fixture("seed-DSConfiguration.ini") + "VendorSecret = abc // theirs\n[Vendor]\nX=1\n"
        let loaded = try LoadedConfiguration.load(text: text, path: "f")
        #expect(loaded.unknownEntries.map(\.key) == ["VendorSecret", "X"])
        let rewritten = try loaded.rewritten(setting: [("LogLevel", "30"), ("IOEngine", "epoll")]).render()
        #expect(rewritten.contains("VendorSecret = abc // theirs\n"))
        #expect(rewritten.contains("[Vendor]\nX=1\n"))
        #expect(rewritten.contains("Port_mp_0 = 18625 // Port of the Service\n"))
        #expect(rewritten.contains("LogLevel = 30\n"))
        let reloaded = try LoadedConfiguration.load(text: rewritten, path: "f")
        #expect(reloaded.settings.logLevel == 30)
        #expect(reloaded.settings.ioEngine == .epoll)
        #expect(throws: ConfigurationError("key LogLevel: expected an integer, got \"high\"")) {
            try loaded.rewritten(setting: [("LogLevel", "high")])
        }
    }

    @Test("Config/DSConfiguration.ini is the rendered default file, and it parses to the defaults")
    func defaultFileIsDocumentedAndCurrent() throws {
        let committed = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Config/DSConfiguration.ini"), encoding: .utf8)
        #expect(committed == DefaultConfigurationFile.render(), "regenerate with: scanbridge config defaults > Config/DSConfiguration.ini")
        let loaded = try LoadedConfiguration.load(text: committed, path: "Config/DSConfiguration.ini")
        #expect(loaded.unknownEntries.isEmpty)
        for value in loaded.values {
            #expect(value.value == value.key.defaultValue, "\(value.key.name)")
            #expect(committed.contains("; \(value.key.name) ("), "\(value.key.name) is documented")
        }
        #expect(loaded.settings.listeners.map(\.port).sorted() == [18622, 18623, 18625, 18626])
    }
}
