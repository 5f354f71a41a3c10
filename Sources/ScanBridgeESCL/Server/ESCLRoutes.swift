import HTTPTypes
import ScanBridgeCore
import ScanBridgeDevices
import ScanBridgeHTTP
import ScanBridgeImaging

/// The eSCL resources under `/eSCL`.
struct ESCLRoutes {
    static let root = "/eSCL"
    /// ScanSettings documents are a few hundred bytes; anything near this is not one.
    static let maxSettingsBytes = 64 << 10
    /// How long `NextDocument` waits for the scanner before answering 503 (ask again).
    static let nextDocumentWait: Duration = .seconds(30)

    let scanner: ESCLScanner

    static func jobPath(_ uuid: String) -> String { "\(root)/ScanJobs/\(uuid)" }

    func register(on router: inout Router) {
        let scanner = self.scanner
        router.get("\(Self.root)/ScannerCapabilities") { _ in
            Self.xml(CapabilitiesDocument.render(try await scanner.description()))
        }
        router.get("\(Self.root)/ScannerStatus") { _ in
            let description = try? await scanner.description()
            var infos: [ESCLJobInfo] = []
            var busy = false
            var feederEmpty = false
            for job in await scanner.allJobs() {
                let state = await job.state
                let failure = await job.failure
                busy = busy || state == .processing
                if job.settings.inputSource == .feeder { feederEmpty = failure?.code == DeviceErrorCode.noMedia }
                infos.append(ESCLJobInfo(uuid: job.uuid, ageSeconds: Int((ContinuousClock.now - job.created).components.seconds),
                                         imagesCompleted: await job.imagesCompleted, imagesToTransfer: await job.imagesToTransfer,
                                         state: state, reason: Self.reason(state, failure: failure)))
            }
            let adfState = description?.hasFeeder == true ? (feederEmpty ? "ScannerAdfEmpty" : "ScannerAdfLoaded") : nil
            return Self.xml(StatusDocument.render(busy: busy, adfState: adfState, jobs: infos, jobPath: Self.jobPath))
        }
        router.post("\(Self.root)/ScanJobs") { request in
            let body = try await request.body.collect(upTo: Self.maxSettingsBytes)
            let settings = try ESCLScanSettings.parse(body)
            let job = try await scanner.createJob(settings)
            let scheme = request.connection.isSecure ? "https" : "http"
            let host = request.headerFields[.hostField] ?? "127.0.0.1:\(request.connection.localPort)"
            return Response(status: .created, headerFields: [.location: "\(scheme)://\(host)\(Self.jobPath(job.uuid))"])
        }
        router.get("\(Self.root)/ScanJobs/{uuid}/NextDocument") { request in
            let uuid = try request.parameters.require("uuid")
            guard let job = await scanner.job(uuid) else { throw HTTPError(.notFound, message: "No scan job \(uuid)") }
            if job.settings.documentFormat.isMultiPage, await job.pdfTaken {
                throw HTTPError(.notFound, message: "The job's PDF was sent; it has no more documents")
            }
            switch await job.next(timeout: Self.nextDocumentWait) {
            case .end:
                throw HTTPError(.notFound, message: "The job has no more documents")
            case .notReady:
                throw HTTPError(.serviceUnavailable, message: "The scanner has not finished the next page yet; ask again",
                                headerFields: [.retryAfter: "1"])
            case .page(.file(let bytes)):
                return Response(status: .ok, headerFields: [.contentType: job.settings.documentFormat.rawValue], body: .bytes(bytes))
            case .page(.pdfPage(let first)):
                guard await job.claimPDF() else { throw HTTPError(.notFound, message: "The job's PDF was sent") }
                return Self.pdf(of: job, startingWith: first)
            }
        }
        router.delete("\(Self.root)/ScanJobs/{uuid}") { request in
            let uuid = try request.parameters.require("uuid")
            guard await scanner.delete(uuid) else { throw HTTPError(.notFound, message: "No scan job \(uuid)") }
            return Response(status: .ok)
        }
    }

    /// The whole job as one PDF, streamed: each page is written as soon as it is scanned.
    private static func pdf(of job: ESCLJob, startingWith first: PDFPageImage) -> Response {
        Response.stream(headerFields: [.contentType: ESCLScanSettings.DocumentFormat.pdf.rawValue]) { writer in
            let (pdf, header) = try await AsyncPDFWriter.pieces()
            for piece in header { try await writer.write(piece) }
            var page: PDFPageImage? = first
            while let current = page {
                for piece in try await pdf.addPage(current) { try await writer.write(piece) }
                page = nil
                waiting: while true {
                    switch await job.next(timeout: .seconds(3600)) {
                    case .page(.pdfPage(let next)): page = next; break waiting
                    case .page(.file): break waiting
                    case .notReady: continue
                    case .end: break waiting
                    }
                }
            }
            for piece in try await pdf.finish() { try await writer.write(piece) }
        }
    }

    private static func reason(_ state: ESCLJob.State, failure: ScanBridgeError?) -> String {
        switch state {
        case .processing: "JobScanning"
        case .completed: "JobCompletedSuccessfully"
        case .canceled: "JobCanceledByUser"
        case .aborted: failure?.code == DeviceErrorCode.noMedia ? "ResourcesAreNotReady" : "AbortedBySystem"
        }
    }

    static func xml(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headerFields: [.contentType: "text/xml"], body: .bytes(bytes))
    }
}

/// eSCL answers errors as plain text with the protocol's statuses: 400 for a malformed
/// request, 404 for an unknown job, 409 for settings the scanner does not support, 503 while
/// the scanner is busy (held by another eSCL or DWT client).
struct ESCLErrorRenderer: HTTPErrorRenderer {
    func response(for error: any Error) -> Response {
        switch error {
        case let error as HTTPError:
            var response = Response.text(error.message + "\n", status: error.status)
            for field in error.headerFields { response.headerFields.append(field) }
            return response
        case let error as ESCLRequestError:
            return .text(error.description + "\n", status: .badRequest)
        case let error as ESCLScanSettings.Unsupported:
            return .text(error.description + "\n", status: .conflict)
        case let error as ScanBridgeError:
            switch error.code {
            case DeviceErrorCode.busy:
                var response = Response.text(error.message + "\n", status: .serviceUnavailable)
                response.headerFields[.retryAfter] = "5"
                return response
            case DeviceErrorCode.deviceNotFound, DeviceErrorCode.deviceOffline:
                return .text(error.message + "\n", status: .serviceUnavailable)
            case DeviceErrorCode.capabilityNotSupported, DeviceErrorCode.valueOutOfRange:
                return .text(error.message + "\n", status: .conflict)
            default:
                return .text(error.description + "\n", status: .internalServerError)
            }
        case let error as any HTTPResponseError:
            return error.response
        default:
            return .text("Internal error: \(error)\n", status: .internalServerError)
        }
    }
}
