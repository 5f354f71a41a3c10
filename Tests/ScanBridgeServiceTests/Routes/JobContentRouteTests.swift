import Foundation
import HTTPTypes
import ScanBridgeImaging
import Testing

extension RouteTests {
    @Suite("Job content")
    struct JobContent {
        @Test("a job's pages as PDF (qpdf), TIFF (tiffinfo) and one PNG page; the cursors do not move")
        func formats() async throws {
            try await RouteFixture.with { fixture in
                let uid = try await fixture.scan(pages: 3, pixelType: 1, resolution: 75)
                let pdf = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/content")
                #expect(pdf.status == 200 && pdf.contentType == "application/pdf", "\(pdf.text.prefix(200))")
                let check = try await ExternalTool.run("qpdf", ["--check", "{}"], on: pdf.body, name: "job.pdf")
                #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
                let count = try await ExternalTool.run("qpdf", ["--show-npages", "{}"], on: pdf.body, name: "job.pdf")
                #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3")

                let tiff = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/content?type=image/tiff&pages=0,2")
                #expect(tiff.status == 200 && tiff.contentType == "image/tiff")
                let tiffinfo = try await ExternalTool.run("tiffinfo", ["{}"], on: tiff.body, name: "job.tif")
                #expect(tiffinfo.status == 0, "\(tiffinfo.stderr)")
                #expect(tiffinfo.stdout.components(separatedBy: "TIFF Directory").count - 1 == 2, "\(tiffinfo.stdout)")

                let png = try await fixture.send(.get, "/api/device/scanners/jobs/\(uid)/content?type=image/png&pages=1")
                #expect(png.status == 200 && png.contentType == "image/png")
                let image = try PNGCodec.decode(png.body)
                let size = testScannerPageSize(dpi: 75)
                #expect(image.width == size.width && image.height == size.height && image.format == .gray8)

                // Rendering the content took no page from next-page-info.
                #expect(try await fixture.nextPageInfo(uid) != nil)
            }
        }

        @Test("a running job's content waits for its end; errors: pending 409, unknown 404, bad page 404/-2847, bad type 400, deleted 410")
        func waitsAndErrors() async throws {
            try await RouteFixture.with { fixture in
                let pending = try await fixture.createJob(pages: 2)
                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/\(pending)/content"), status: 409, code: -1011)
                try await fixture.startJob(pending)
                // Asked right after the start: answered only once both pages are scanned.
                let pdf = try await fixture.send(.get, "/api/device/scanners/jobs/\(pending)/content")
                #expect(pdf.status == 200)
                let count = try await ExternalTool.run("qpdf", ["--show-npages", "{}"], on: pdf.body, name: "job.pdf")
                #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
                let status = try await fixture.send(.get, "/api/device/scanners/jobs/\(pending)")
                #expect(status.object["status"] as? String == "completed", "\(status.text)")

                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/\(pending)/content?type=image/png&pages=x123"), status: 404, code: -2847)
                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/\(pending)/content?type=text/plain"), status: 400, code: -2113)
                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/nojob/content"), status: 404, code: -1034)
                #expect(try await fixture.send(.delete, "/api/device/scanners/jobs/\(pending)").status == 204)
                expectDWTError(try await fixture.send(.get, "/api/device/scanners/jobs/\(pending)/content"), status: 410, code: -1034)
            }
        }
    }
}
