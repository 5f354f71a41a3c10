import Foundation
@_spi(Testing) import ScanBridgeDevices
import ScanBridgeCore
import ScanBridgeImaging
import Testing

/// Sessions against SANE's real `test` backend. Serialized: the tests share the test devices.
@Suite("SANE sessions (test backend)", .serialized)
struct SANESessionTests {
    @Test func discoveryListsTheTestScannersWithStableIdentities() async throws {
        _ = TestSANE.configDirectory
        let first = try await SANEContext.shared.discover(refresh: true, timeout: 10)
        let test0 = try #require(first.scanners.first { $0.saneName == "test:0" })
        #expect(test0.id == "sane:test:0")
        #expect(test0.vendor == "Noname" && test0.model == "frontend-tester")
        #expect(test0.displayName == "Noname frontend-tester (test:0)")
        #expect(!first.stale)
        let again = try await SANEContext.shared.scanners(refresh: true)
        #expect(again.map(\.id) == first.scanners.map(\.id))
        // The identity resolves back to the device; an unknown one is -1003.
        #expect(try await SANEContext.shared.scanner("sane:test:0").saneName == "test:0")
        await #expect(throws: ScanBridgeError.self) { try await SANEContext.shared.scanner("sane:nope:9") }
        do {
            _ = try await ScannerSession.open("sane:nope:9")
            Issue.record("opened an unknown device")
        } catch let error as ScanBridgeError {
            #expect(error.code == DeviceErrorCode.deviceNotFound)
        }
    }

    @Test func capabilitiesOfTheTestScanner() async throws {
        let session = try await TestSANE.open()
        let caps = await session.capabilities
        await session.close()
        #expect(caps.modes == ["Gray", "Color"])
        #expect(caps.pixelTypes == [.blackWhite, .gray, .rgb])
        #expect(caps.bitDepths == [1, 8, 16])
        #expect(caps.resolutions == .range(min: 1, max: 1200, step: 1))
        #expect(caps.sources.map(\.kind) == [.flatbed, .feeder])
        #expect(caps.hasFeeder && !caps.hasDuplex)
        #expect(caps.areaWidth == NumericRange(min: 0, max: 200, step: 1))
        #expect(caps.areaHeight == NumericRange(min: 0, max: 200, step: 1))
        #expect(caps.brightness == nil && caps.contrast == nil)
        #expect(caps.values["test-picture"] == .string("Solid black"))
    }

    /// SANE's test backend keeps option values from one `sane_open` to the next; a session
    /// starts from the values the device had when the process first opened it, so one job's
    /// settings never reach the next job.
    @Test func aSessionStartsFromTheDeviceDefaultsNotTheLastSessionsOptions() async throws {
        let first = try await ScannerSession.open("test:1")
        let defaults = await first.capabilities.values
        _ = try await first.setOption("read-delay", text: "yes")
        _ = try await first.setOption("test-picture", text: "Color pattern")
        _ = try await first.setOption("mode", text: "Color")
        await first.close()
        let second = try await ScannerSession.open("test:1")
        let values = await second.capabilities.values
        await second.close()
        #expect(values["read-delay"] == defaults["read-delay"])
        #expect(values["test-picture"] == defaults["test-picture"])
        #expect(values["mode"] == defaults["mode"])
        #expect(values == defaults)
    }

    @Test func flatbedGraySolidBlackIsOnePageOfZeros() async throws {
        let session = try await TestSANE.open()
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        #expect(outcome.error == nil)
        let page = try #require(outcome.pages.first)
        #expect(outcome.pages.count == 1)
        #expect(page.pageNumber == 1 && page.origin == .flatbed && page.xDPI == 50)
        let image = try #require(page.image)
        // 80 × 100 mm at 50 dpi, as the backend computes it: floor(50 · mm / 25.4).
        #expect(image.format == .gray8 && image.width == 157 && image.height == 196)
        #expect(image.pixels.allSatisfy { $0 == 0 })
    }

    @Test func solidWhiteAtOneBitIsAllZeroBits() async throws {
        let session = try await TestSANE.open(options: [("depth", "1"), ("test-picture", "Solid white")])
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        #expect(image.format == .bw1 && image.stride == 20)
        // bw1: 0 is white. Padding bits at the end of each row are the backend's; skip them.
        for y in 0..<image.height {
            for x in 0..<image.width {
                #expect(image.pixels[y * image.stride + x / 8] & (0x80 >> UInt8(x % 8)) == 0)
            }
        }
    }

    @Test(arguments: [
        ("Gray", "8", "Grid"), ("Gray", "1", "Grid"), ("Color", "8", "Grid"), ("Gray", "16", "Color pattern"),
        ("Color", "16", "Color pattern"), ("Color", "8", "Color pattern"), ("Gray", "8", "Solid white"),
    ])
    func pagesMatchScanimageByteForByte(mode: String, depth: String, picture: String) async throws {
        let session = try await TestSANE.open(options: [("mode", mode), ("depth", depth), ("test-picture", picture),
                                                        ("resolution", "60"), ("br-x", "70"), ("br-y", "50")])
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        let reference = try TestSANE.scanimage(["--mode", mode, "--depth", depth, "--test-picture", picture,
                                                "--resolution", "60", "-l", "0", "-t", "0", "-x", "70", "-y", "50"])
        #expect(reference.count > 100)
        #expect(samePNM(PNMWriter.data(for: image), reference), "\(mode) \(depth) \(picture)")
        // The file writer produces the same bytes as the in-memory one.
        let folder = try Paths.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try PNMWriter.write(image, toFile: folder + "/page.pnm")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/page.pnm"))) == PNMWriter.data(for: image))
    }

    @Test func gridPixelsAreTenMillimetreSquares() async throws {
        // At 254 dpi a 10 mm square is 100 pixels: top-left square white, its right neighbour black.
        let session = try await TestSANE.open(options: [("test-picture", "Grid"), ("resolution", "254"),
                                                        ("br-x", "40"), ("br-y", "30")])
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        #expect(image.width == 400 && image.height == 300)
        let pixel = { (x: Int, y: Int) in image.pixels[y * image.stride + x] }
        #expect(pixel(5, 5) == 255 && pixel(95, 95) == 255)
        #expect(pixel(105, 5) == 0 && pixel(5, 105) == 0)
        #expect(pixel(105, 105) == 255 && pixel(205, 5) == 255)
    }

    @Test func feederDeliversTenPagesThenEndsNormally() async throws {
        let session = try await TestSANE.open(options: [("source", "Automatic Document Feeder")])
        let outcome = await TestSANE.collect(try await session.scan())
        #expect(outcome.error == nil)
        #expect(outcome.pages.map(\.pageNumber) == Array(1...10))
        #expect(outcome.pages.allSatisfy { $0.origin == .feederFront && $0.image?.height == 196 })
        await session.close()
        // (The backend's feeder refills itself for the next batch, so "no documents at the
        // start" is forced through read-return-value in forcedStatusesAreFaultsWithCodes.)
    }

    @Test func transferCountStopsTheFeederEarly() async throws {
        let session = try await TestSANE.open()
        let plan = try await session.configure(DeviceConfiguration(pixelType: 1, resolution: 50, feederEnabled: true,
                                                                   transferCount: 3))
        #expect(plan.usesFeeder && plan.maxPages == 3)
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        #expect(outcome.error == nil && outcome.pages.count == 3)
    }

    @Test func handScannerWithUnknownHeight() async throws {
        let session = try await TestSANE.open(options: [("hand-scanner", "yes"), ("test-picture", "Grid")])
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        // The backend reports lines = -1 and then sends 170 mm × 110 mm.
        #expect(image.width == Int(50.0 * 110 / 25.4) && image.height == Int(50.0 * 170 / 25.4))
        let reference = try TestSANE.scanimage(["--hand-scanner=yes", "--test-picture", "Grid", "--resolution", "50"])
        #expect(samePNM(PNMWriter.data(for: image), reference))
    }

    @Test(arguments: ["8", "16"])
    func threePassColourEqualsSinglePass(depth: String) async throws {
        let common = [("mode", "Color"), ("depth", depth), ("test-picture", "Color pattern")]
        let session = try await TestSANE.open(options: common)
        let single = await TestSANE.collect(try await session.scan())
        await session.waitUntilIdle()
        for (name, value) in [("three-pass", "yes"), ("three-pass-order", "GBR")] {
            try await session.setOption(name, text: value)
        }
        let three = await TestSANE.collect(try await session.scan())
        await session.waitUntilIdle()
        try await session.setOption("three-pass", text: "no")
        await session.close()
        #expect(three.error == nil)
        let a = try #require(single.pages.first?.image), b = try #require(three.pages.first?.image)
        #expect(b.format == (depth == "8" ? .rgb24 : .rgb48))
        #expect(a.width == b.width && a.height == b.height && a.pixels == b.pixels)
    }

    @Test func shortReadsAndReadDelaysGiveTheSamePixels() async throws {
        let common = [("mode", "Color"), ("test-picture", "Color pattern")]
        let session = try await TestSANE.open(options: common)
        let plain = await TestSANE.collect(try await session.scan())
        await session.waitUntilIdle()
        for (name, value) in [("read-limit", "yes"), ("read-limit-size", "777"), ("read-delay", "yes"),
                              ("read-delay-duration", "5000")] {
            try await session.setOption(name, text: value)
        }
        let slow = await TestSANE.collect(try await session.scan())
        await session.close()
        #expect(slow.error == nil)
        #expect(plain.pages.first?.image == slow.pages.first?.image)
        #expect(slow.pages.first?.image?.width == 157)
    }

    @Test(arguments: [
        ("SANE_STATUS_JAMMED", DeviceErrorCode.paperJam, 6),
        ("SANE_STATUS_COVER_OPEN", DeviceErrorCode.coverOpen, 8),
        ("SANE_STATUS_IO_ERROR", DeviceErrorCode.deviceOffline, 9),
        ("SANE_STATUS_NO_DOCS", DeviceErrorCode.noMedia, 7),
        ("SANE_STATUS_NO_MEM", DeviceErrorCode.outOfMemory, 10),
        ("SANE_STATUS_ACCESS_DENIED", DeviceErrorCode.generalFailure, 11),
    ])
    func forcedStatusesAreFaultsWithCodes(status: String, code: Int, saneCode: Int) async throws {
        let session = try await TestSANE.open(options: [("source", "Automatic Document Feeder"),
                                                        ("read-return-value", status)])
        let outcome = await TestSANE.collect(try await session.scan())
        await session.waitUntilIdle()
        try await session.setOption("read-return-value", text: "Default")
        #expect(await session.status == .idle)
        await session.close()
        #expect(outcome.pages.isEmpty)
        let error = try #require(outcome.scanError)
        #expect(error.code == code, "\(status)")
        #expect(error.cause?.code == saneCode)
        #expect(error.message.contains("test:0"))
    }

    @Test(arguments: ["SANE_STATUS_JAMMED", "SANE_STATUS_COVER_OPEN", "SANE_STATUS_IO_ERROR", "SANE_STATUS_NO_DOCS"])
    func faultMidBatchKeepsEarlierPages(status: String) async throws {
        let session = try await TestSANE.open(options: [("source", "Automatic Document Feeder"), ("test-picture", "Grid")])
        await session.setBeforePageHook { page in page == 4 ? [("read-return-value", status)] : [] }
        let outcome = await TestSANE.collect(try await session.scan())
        await session.waitUntilIdle()
        await session.setBeforePageHook(nil)
        try await session.setOption("read-return-value", text: "Default")
        await session.close()
        #expect(outcome.pages.map(\.pageNumber) == [1, 2, 3])
        #expect(outcome.pages.allSatisfy { $0.image?.pixels.contains(255) == true })
        #expect(outcome.scanError != nil && outcome.scanError?.code != DeviceErrorCode.generalFailure)
    }

    @Test func cancelMidPageStopsWithinOneSecond() async throws {
        // 200 ms per read and a big page: the scan would take minutes.
        let session = try await TestSANE.open(options: [("mode", "Color"), ("resolution", "600"), ("br-x", "200"),
                                                        ("br-y", "200"), ("read-delay", "yes"),
                                                        ("read-delay-duration", "200000")])
        let stream = try await session.scan()
        let consumer = Task { await TestSANE.collect(stream) }
        try await Task.sleep(nanoseconds: 600_000_000)
        #expect(await session.status == .scanning)
        let start = Date()
        await session.cancel()
        let outcome = await consumer.value
        await session.waitUntilIdle()
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 1.0, "stopped after \(elapsed) s")
        #expect(outcome.pages.isEmpty && outcome.error is CancellationError)
        // The device is usable again at once.
        for (name, value) in [("read-delay-duration", "1000"), ("resolution", "50"), ("br-x", "80"), ("br-y", "100")] {
            try await session.setOption(name, text: value)
        }
        let again = await TestSANE.collect(try await session.scan())
        await session.close()
        #expect(again.pages.count == 1 && again.error == nil)
    }

    @Test func cancellingTheConsumerTaskCancelsTheScan() async throws {
        let session = try await TestSANE.open(options: [("source", "Automatic Document Feeder"), ("read-delay", "yes"),
                                                        ("read-delay-duration", "50000")])
        let stream = try await session.scan()
        let consumer = Task { await TestSANE.collect(stream) }
        try await Task.sleep(nanoseconds: 300_000_000)
        consumer.cancel()
        let outcome = await consumer.value
        #expect(outcome.error is CancellationError)
        let start = Date()
        await session.waitUntilIdle()
        #expect(Date().timeIntervalSince(start) < 1.0)
        await session.close()
    }

    @Test func secondOpenOfABusyScannerIsRefused() async throws {
        let session = try await TestSANE.open()
        do {
            _ = try await ScannerSession.open("sane:test:0")
            Issue.record("a busy scanner was opened twice")
        } catch let error as ScanBridgeError {
            #expect(error.code == DeviceErrorCode.busy)
            #expect(error.message.contains("busy"))
        }
        // Busy while scanning, too: a second scan on the same session is out of sequence.
        let stream = try await session.scan()
        await #expect(throws: ScanBridgeError.self) { _ = try await session.scan() }
        _ = await TestSANE.collect(stream)
        await session.close()
        // Closed: it can be opened again.
        let reopened = try await ScannerSession.open("sane:test:0")
        await reopened.close()
    }

    @Test func scannerThatStopsAnsweringHitsTheFailureTimeout() async throws {
        let session = try await TestSANE.open(options: [("read-delay", "yes"), ("read-delay-duration", "200000"),
                                                        ("resolution", "300")], timeout: 0.1)
        let start = Date()
        let outcome = await TestSANE.collect(try await session.scan())
        #expect(Date().timeIntervalSince(start) < 1.5)
        #expect(outcome.scanError?.code == DeviceErrorCode.deviceOffline)
        #expect(outcome.scanError?.message.contains("scannerFailureTimeout") == true)
        await session.waitUntilIdle()
        #expect(await session.status == .failed)
        await #expect(throws: ScanBridgeError.self) { _ = try await session.scan() }
        await session.close()
        // The device thread finishes the stuck call and closes the device; then it opens again.
        var reopened: ScannerSession?
        for _ in 0..<50 where reopened == nil {
            reopened = try? await ScannerSession.open("test:0")
            if reopened == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        let session2 = try #require(reopened)
        try await session2.setOption("read-delay", text: "yes")
        try await session2.setOption("read-delay-duration", text: "1000")
        await session2.close()
    }

    @Test func configurationIsMappedAppliedAndReported() async throws {
        let session = try await TestSANE.open()
        let json = #"{"IfShowUI": false, "PixelType": 2, "Resolution": 75, "IfFeederEnabled": false, "IfDuplexEnabled": true, "PageSize": 5, "XferCount": -1, "Brightness": 10, "IfFancyThing": 1}"#
        let config = try JSONDecoder().decode(DeviceConfiguration.self, from: Data(json.utf8))
        let plan = try await session.configure(config)
        #expect(Set(plan.adjustments.map(\.field)) == ["IfDuplexEnabled", "PageSize", "Brightness", "IfFancyThing"])
        let caps = await session.capabilities
        #expect(caps.values["mode"] == .string("Color") && caps.values["depth"] == .number(8))
        #expect(caps.values["br-x"] == .number(148) && caps.values["br-y"] == .number(200))
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        #expect(image.format == .rgb24)
        #expect(image.width == Int(75.0 * 148 / 25.4) && image.height == Int(75.0 * 200 / 25.4))
        #expect(outcome.pages.count == 1)
    }

    @Test func blackAndWhiteIsGrayAtOneBitOnTheTestScanner() async throws {
        let session = try await TestSANE.open(options: [("test-picture", "Grid")])
        try await session.configure(DeviceConfiguration(pixelType: 0, resolution: 50))
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        #expect(image.format == .bw1)
        // Top-left square is white (0 bits), the one to its right black (1 bits).
        #expect(image.pixels[0] == 0x00)
        #expect(image.pixels[3] & 0x0F == 0x0F)
    }

    @Test func settingsBlobRoundTrips() async throws {
        let session = try await TestSANE.open(options: [("mode", "Color"), ("resolution", "123"), ("test-picture", "Grid"),
                                                        ("source", "Automatic Document Feeder")])
        let blob = try await session.settingsBlob()
        for (name, value) in TestSANE.baseline { try await session.setOption(name, text: value) }
        #expect(await session.capabilities.values["mode"] == .string("Gray"))
        let adjustments = try await session.applySettings(blob)
        #expect(adjustments.isEmpty, "\(adjustments)")
        let values = await session.capabilities.values
        #expect(values["mode"] == .string("Color") && values["resolution"] == .number(123))
        #expect(values["test-picture"] == .string("Grid") && values["source"] == .string("Automatic Document Feeder"))
        // Someone else's blob, or garbage: refused clearly; a blob naming unknown options: reported.
        await #expect(throws: ScanBridgeError.self) { try await session.applySettings("bm90IGEgYmxvYg==") }
        let foreign = Data(#"{"version":1,"device":"x","options":{"lamp-colour":{"string":{"_0":"blue"}}}}"#.utf8).base64EncodedString()
        let reported = try await session.applySettings(foreign)
        await session.close()
        #expect(reported.map(\.requested) == ["lamp-colour = blue"])
    }

    @Test(arguments: [("Solid black", UInt8(0)), ("Solid white", UInt8(255))])
    func oneBitColourIsWidenedToRGB24(picture: String, value: UInt8) async throws {
        // scanimage refuses 1-bit colour; a set bit is full intensity of its channel.
        let session = try await TestSANE.open(options: [("mode", "Color"), ("depth", "1"), ("test-picture", picture)])
        let outcome = await TestSANE.collect(try await session.scan())
        await session.close()
        let image = try #require(outcome.pages.first?.image)
        #expect(image.format == .rgb24 && image.width == 157 && image.height == 196)
        #expect(image.pixels.allSatisfy { $0 == value })
    }

    @Test func slowConsumerGetsEveryPageInOrder() async throws {
        let session = try await TestSANE.open(options: [("source", "Automatic Document Feeder")], maxBufferedPages: 2)
        var numbers: [Int] = []
        for try await page in try await session.scan() {
            numbers.append(page.pageNumber)
            try await Task.sleep(nanoseconds: 30_000_000)
        }
        await session.close()
        #expect(numbers == Array(1...10))
    }
}
