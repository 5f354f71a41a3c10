import Foundation
import Testing

/// `scanbridge devices` and `scanbridge scan`, run as subprocesses with their own SANE
/// configuration folders (SANE reads its configuration once per process).
@Suite("Devices command line")
struct CommandLineTests {
    @Test func devicesListsTheTestScannersAndNoCameras() throws {
        let config = TestSANE.makeConfigDirectory()
        let result = try runProgram(Paths.scanbridge, ["devices"], environment: ["SANE_CONFIG_DIR": config])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sane:test:0  Noname frontend-tester (test:0)"))
        #expect(result.stdout.contains("resolutions: 1…1200 dpi"))
        #expect(result.stdout.contains("Automatic Document Feeder (feeder)"))
        #expect(result.stdout.contains("Cameras:"))
        let json = try runProgram(Paths.scanbridge, ["devices", "--json"], environment: ["SANE_CONFIG_DIR": config])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let scanners = try #require(object?["scanners"] as? [[String: Any]])
        #expect(scanners.count == 2)
        #expect((scanners.first?["device"] as? [String: Any])?["id"] as? String == "sane:test:0")
        // No /dev/video* here: an empty list, not an error.
        #expect((object?["cameras"] as? [Any])?.isEmpty == true)
    }

    @Test func devicesWithoutAnyScannerSaysSo() throws {
        let config = TestSANE.makeConfigDirectory()
        try "".write(toFile: config + "/dll.conf", atomically: true, encoding: .utf8)
        let result = try runProgram(Paths.scanbridge, ["devices"], environment: ["SANE_CONFIG_DIR": config])
        #expect(result.status == 0)
        #expect(result.stdout.contains("none found"))
    }

    @Test(arguments: [("gray", "P5", "PGM raw"), ("color", "P6", "PPM raw"), ("bw", "P4", "PBM raw")])
    func scanFromTheFeederWritesEveryPageLikeScanimage(mode: String, magic: String, kind: String) throws {
        let config = TestSANE.makeConfigDirectory()
        let output = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try runProgram(Paths.scanbridge, [
            "scan", "--device", "sane:test:0", "--source", "adf", "--mode", mode, "--resolution", "75",
            "--output", output, "--option", "test-picture=Grid", "--option", "br-x=100", "--option", "br-y=60",
            "--option", "read-delay=yes", "--option", "read-delay-duration=1000",  // see TestSANE.baseline
        ], environment: ["SANE_CONFIG_DIR": config])
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
        #expect(files == (1...10).map { String(format: "page-%04d.pnm", $0) })
        // netpbm's own reading of the first page.
        let info = try runProgram("/usr/bin/pnmfile", [output + "/page-0001.pnm"])
        #expect(info.stdout.contains("\(kind), 295 by 177"), "\(info.stdout)")
        // The same bytes as scanimage with the same options.
        let depth = mode == "bw" ? "1" : "8", saneMode = mode == "color" ? "Color" : "Gray"
        let reference = try TestSANE.scanimage(["--source", "Automatic Document Feeder", "--mode", saneMode,
                                                "--depth", depth, "--resolution", "75", "--test-picture", "Grid",
                                                "-l", "0", "-t", "0", "-x", "100", "-y", "60"], configDirectory: config)
        let ours = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output + "/page-0010.pnm")))
        #expect(ours.starts(with: Array(magic.utf8)))
        #expect(samePNM(ours, reference))
    }

    @Test func faultBeforeTheFirstPageExitsOneWithTheCode() throws {
        let config = TestSANE.makeConfigDirectory()
        let output = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try runProgram(Paths.scanbridge, [
            "scan", "--device", "sane:test:0", "--source", "adf", "--output", output,
            "--option", "read-return-value=SANE_STATUS_COVER_OPEN",
        ], environment: ["SANE_CONFIG_DIR": config])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error -1024") && result.stderr.contains("cover"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: output).isEmpty)
    }

    @Test func badOptionsAreRefusedClearly() throws {
        let config = TestSANE.makeConfigDirectory()
        let output = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: output) }
        let unknown = try runProgram(Paths.scanbridge, ["scan", "--device", "sane:none:1", "--output", output],
                                     environment: ["SANE_CONFIG_DIR": config])
        #expect(unknown.status == 1 && unknown.stderr.contains("error -1003"))
        let mode = try runProgram(Paths.scanbridge, ["scan", "--device", "sane:test:0", "--mode", "sepia", "--output", output],
                                  environment: ["SANE_CONFIG_DIR": config])
        #expect(mode.status != 0 && mode.stderr.contains("--mode must be bw, gray or color"))
        let option = try runProgram(Paths.scanbridge, ["scan", "--device", "sane:test:0", "--output", output,
                                                       "--option", "test-picture=Mona Lisa"],
                                    environment: ["SANE_CONFIG_DIR": config])
        #expect(option.status == 1 && option.stderr.contains("test-picture takes one of"))
        let rounded = try runProgram(Paths.scanbridge, ["scan", "--device", "sane:test:0", "--output", output,
                                                        "--resolution", "5000", "--page-size", "a5"],
                                     environment: ["SANE_CONFIG_DIR": config])
        #expect(rounded.status == 0)
        #expect(rounded.stderr.contains("note: Resolution: requested 5000, using 1200"))
        #expect(rounded.stdout.contains("6992x9448 gray8 1200 dpi flatbed"), "\(rounded.stdout)")
    }
}

/// A SANE network backend whose server accepts and then never answers: discovery must give up
/// after its timeout instead of hanging (`scanbridge devices --timeout 1`).
@Suite("Discovery timeout")
struct DiscoveryTimeoutTests {
    @Test func hangingNetworkBackendTimesOut() throws {
        // saned's port is fixed (6566); a random loopback address keeps parallel runs apart.
        let silent = Process()
        silent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        silent.arguments = ["-c", """
            import random, socket, sys, time
            for _ in range(50):
                address = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254), random.randint(2, 254))
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((address, 6566)); break
                except OSError:
                    s.close()
            s.listen(8); print(address, flush=True)
            held = []
            end = time.time() + 20
            while time.time() < end:
                s.settimeout(0.5)
                try: held.append(s.accept())
                except OSError: pass
            """]
        let output = Pipe()
        silent.standardOutput = output
        try silent.run()
        defer { kill(silent.processIdentifier, SIGKILL); silent.waitUntilExit() }
        let line = String(decoding: output.fileHandleForReading.availableDataLine(), as: UTF8.self)
        let address = line.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(address.hasPrefix("127."))

        let config = TestSANE.makeConfigDirectory()
        try "net\n".write(toFile: config + "/dll.conf", atomically: true, encoding: .utf8)
        try "connect_timeout = 30\n\(address)\n".write(toFile: config + "/net.conf", atomically: true, encoding: .utf8)
        let start = Date()
        let result = try runProgram(Paths.scanbridge, ["devices", "--json", "--no-capabilities", "--timeout", "1"],
                                    environment: ["SANE_CONFIG_DIR": config, "SANE_NET_HOSTS": ""], timeout: 25)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 10, "took \(elapsed) s")
        #expect(result.status == 0)
        #expect(result.stdout.contains("Scanner discovery did not finish within 1 s"), "\(result.stdout)")
    }
}

extension FileHandle {
    /// Reads until the first newline (or end of file).
    func availableDataLine() -> Data {
        var line = Data()
        while true {
            let byte = readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { return line }
            line.append(byte)
        }
    }
}
