// img2pdf through its Python API in a warm interpreter: one long-running `python3` that has
// imported img2pdf and turns each request it reads on standard input (a JSON list of JPEG files
// and an output path) into a PDF file, answering "ok". The time of a request is then img2pdf's
// work alone, as ours is PDFWriter's, with no interpreter start-up or import in it.
import Foundation

final class Img2PDFWorker {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static let script = """
        import json, sys, img2pdf
        for line in sys.stdin:
            request = json.loads(line)
            with open(request["output"], "wb") as out:
                img2pdf.convert(request["inputs"], outputstream=out)
            sys.stdout.write("ok\\n")
            sys.stdout.flush()
        """

    let process = Process()
    let input = Pipe(), output = Pipe()
    let version: String

    /// Debian's img2pdf is installed for the system Python.
    init(python: String = "/usr/bin/python3") throws {
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", Self.script]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import img2pdf; print(img2pdf.__version__)"]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        version = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        probe.waitUntilExit()
    }

    /// Builds the PDF of `inputs` at `path`; returns when the worker has written and closed it.
    func convert(_ inputs: [String], to path: String) throws {
        let request = try JSONSerialization.data(withJSONObject: ["inputs": inputs, "output": path]) + Data("\n".utf8)
        input.fileHandleForWriting.write(request)
        var answer = Data()
        while !answer.hasSuffix(Data("\n".utf8)) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw Failure(description: "img2pdf worker exited (status \(process.terminationStatus))") }
            answer += chunk
        }
        guard answer == Data("ok\n".utf8) else { throw Failure(description: "img2pdf worker: \(String(decoding: answer, as: UTF8.self))") }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

extension Data {
    fileprivate func hasSuffix(_ suffix: Data) -> Bool { count >= suffix.count && self[(endIndex - suffix.count)...] == suffix }
}
