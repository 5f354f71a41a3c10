import Testing
@testable import ScanBridgeService

@Suite("INI documents")
struct INIDocumentTests {
    @Test("the seed's file parses verbatim, with trailing // comments")
    func seedFileParses() throws {
        let document = try INIDocument(parsing: try TestSupport.fixture("seed-DSConfiguration.ini"))
        #expect(document.value(section: "DS", key: "Port_mp_0") == "18625")
        #expect(document.entry(section: "DS", key: "Port_mp_0")?.comment == " Port of the Service")
        #expect(document.value(section: "ds", key: "port_mn_1") == "dwt")
        #expect(document.value(section: "DS", key: "LogLevel") == "1")
        #expect(document.entry(section: "DS", key: "LogLevel")?.line == 13)
    }

    @Test("comment lines of every style, and // inside a value is kept")
    func comments() throws {
        let text = """
            ; semicolon
            # hash
            // slashes
            [S]
            url = https://example.com/path // where to send
            plain=value//not a comment
            empty =
            """
        let document = try INIDocument(parsing: text)
        #expect(document.entries.count == 3)
        #expect(document.value(section: "S", key: "url") == "https://example.com/path")
        #expect(document.entry(section: "S", key: "url")?.comment == " where to send")
        #expect(document.value(section: "S", key: "plain") == "value//not a comment")
        #expect(document.value(section: "S", key: "empty") == "")
    }

    @Test("an unparseable line names its line number")
    func syntaxError() {
        #expect(throws: INIDocument.SyntaxError(line: 3, text: "this is not ini")) {
            try INIDocument(parsing: "[DS]\nLogLevel=1\nthis is not ini\n")
        }
    }

    @Test("rendering an untouched document reproduces it byte for byte")
    func renderIsIdentity() throws {
        let text = try TestSupport.fixture("seed-DSConfiguration.ini")
        #expect(try INIDocument(parsing: text).render() == text)
        let crlf = "[DS]\r\nPort_mp_0 = 18625 // Port of the Service\r\nLogLevel=1\r\n"
        var windows = try INIDocument(parsing: crlf)
        #expect(windows.render() == crlf)
        #expect(windows.value(section: "DS", key: "Port_mp_0") == "18625")
        windows.set(section: "DS", key: "LogLevel", value: "30")
        #expect(windows.render() == "[DS]\r\nPort_mp_0 = 18625 // Port of the Service\r\nLogLevel = 30\r\n")
    }

    @Test("setting values keeps comments, unknown keys and key spelling; new keys join their section")
    func setKeepsEverythingElse() throws {
        var document = try INIDocument(parsing: """
            ; header comment
            [DS]
            port_mp_0 = 18625 // Port of the Service
            VendorKey = kept

            [Other]
            A = 1
            """)
        document.set(section: "DS", key: "Port_mp_0", value: "28625")
        document.set(section: "DS", key: "LogLevel", value: "30")
        document.set(section: "ScanBridge", key: "IOEngine", value: "epoll")
        #expect(document.render() == """
            ; header comment
            [DS]
            port_mp_0 = 28625 // Port of the Service
            VendorKey = kept
            LogLevel = 30

            [Other]
            A = 1

            [ScanBridge]
            IOEngine = epoll

            """)
    }
}
