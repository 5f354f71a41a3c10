/// One job as ScannerStatus lists it.
struct ESCLJobInfo: Sendable, Equatable {
    var uuid: String
    var ageSeconds: Int
    var imagesCompleted: Int
    var imagesToTransfer: Int
    var state: ESCLJob.State
    var reason: String
}

/// `GET /eSCL/ScannerStatus`.
enum StatusDocument {
    /// - Parameters:
    ///   - busy: the scanner is scanning (for this server or for the DWT API).
    ///   - adfState: nil when the scanner has no feeder.
    static func render(busy: Bool, adfState: String?, jobs: [ESCLJobInfo], jobPath: (String) -> String) -> [UInt8] {
        var xml = XMLWriter()
        xml.group("scan:ScannerStatus", ESCLNamespace.attributes) { xml in
            xml.element("pwg:Version", CapabilitiesDocument.version)
            xml.element("pwg:State", busy ? "Processing" : "Idle")
            if let adfState { xml.element("scan:AdfState", adfState) }
            if !jobs.isEmpty {
                xml.group("scan:Jobs") { xml in
                    // Newest first, as scanners list them.
                    for job in jobs.reversed() {
                        xml.group("scan:JobInfo") { xml in
                            xml.element("pwg:JobUri", jobPath(job.uuid))
                            xml.element("pwg:JobUuid", job.uuid)
                            xml.element("scan:Age", job.ageSeconds)
                            xml.element("pwg:ImagesCompleted", job.imagesCompleted)
                            xml.element("pwg:ImagesToTransfer", job.imagesToTransfer)
                            xml.element("pwg:JobState", job.state.rawValue)
                            xml.group("pwg:JobStateReasons") { $0.element("pwg:JobStateReason", job.reason) }
                        }
                    }
                }
            }
        }
        return xml.bytes
    }
}
