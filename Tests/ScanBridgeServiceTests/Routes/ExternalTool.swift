import Foundation

/// Programs nobody here wrote (qpdf, tiffinfo) that judge what the routes produce.
enum ExternalTool {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `tool` (looked up on PATH) and waits for it without holding a thread: the exit is
    /// reported by the termination handler. Output goes to files, so a chatty tool can't fill a
    /// pipe and stall.
    static func run(_ tool: String, _ arguments: [String]) async throws -> Result {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let outputPath = folder + "/stdout", errorPath = folder + "/stderr"
        try Data().write(to: URL(fileURLWithPath: outputPath))
        try Data().write(to: URL(fileURLWithPath: errorPath))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = output
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try output.close()
        try errors.close()
        return Result(status: status,
                      stdout: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
    }

    /// Runs `tool` on `bytes` written to a temporary file named `name` (the file's path is put
    /// where `arguments` holds `{}`).
    static func run(_ tool: String, _ arguments: [String], on bytes: [UInt8], name: String) async throws -> Result {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try await run(tool, arguments.map { $0 == "{}" ? path : $0 })
    }
}
