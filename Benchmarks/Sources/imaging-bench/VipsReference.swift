// libvips called in-process through its C API: the reference for resize and thumbnails, doing
// the same work in the same way as ours (pixels in memory in, pixels in memory out; files in,
// files out), with no process start-up in its figures.
import CVips
import Foundation
import ScanBridgeImaging

enum VipsReference {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Starts libvips once, with its operation cache off (a repeated call must redo the work) and
    /// `threads` worker threads.
    static func start(threads: Int) throws {
        guard vips_init(CommandLine.arguments[0]) == 0 else { throw Failure(description: "vips_init failed: \(lastError())") }
        vips_cache_set_max(0)
        vips_concurrency_set(Int32(threads))
    }

    static var version: String { String(cString: vips_version_string()) }

    static func lastError() -> String {
        defer { vips_error_clear() }
        return String(cString: vips_error_buffer())
    }

    /// `image` box-averaged down by the integer `factor`, computed into memory; its byte count.
    static func shrink(_ image: Image, factor: Int) throws -> Int {
        try shrink(image, factor: factor) { $0.count }
    }

    /// The pixels of `image` box-averaged down by `factor` (outside the timed calls: a copy).
    static func shrunkPixels(_ image: Image, factor: Int) throws -> [UInt8] {
        try shrink(image, factor: factor) { [UInt8]($0) }
    }

    private static func shrink<Result>(_ image: Image, factor: Int, reading: (UnsafeRawBufferPointer) -> Result) throws -> Result {
        try image.pixels.withUnsafeBytes { pixels in
            guard let input = vips_image_new_from_memory(pixels.baseAddress, pixels.count, Int32(image.width), Int32(image.height),
                                                         Int32(image.format.channels), VIPS_FORMAT_UCHAR) else {
                throw Failure(description: "vips_image_new_from_memory: \(lastError())")
            }
            defer { cvips_unref(input) }
            var output: UnsafeMutablePointer<VipsImage>?
            guard cvips_shrink(input, &output, Double(factor)) == 0, let output else { throw Failure(description: "vips_shrink: \(lastError())") }
            defer { cvips_unref(output) }
            var size = 0
            guard let memory = vips_image_write_to_memory(output, &size) else { throw Failure(description: "write_to_memory: \(lastError())") }
            defer { cvips_free(memory) }
            return reading(UnsafeRawBufferPointer(start: memory, count: size))
        }
    }

    /// A thumbnail of the JPEG file at `source` fitted in `box` × `box`, saved as JPEG q75.
    static func thumbnail(_ source: String, box: Int, to destination: String) throws {
        var output: UnsafeMutablePointer<VipsImage>?
        guard cvips_thumbnail(source, &output, Int32(box), Int32(box)) == 0, let output else {
            throw Failure(description: "vips_thumbnail: \(lastError())")
        }
        defer { cvips_unref(output) }
        guard cvips_jpegsave(output, destination, 75) == 0 else { throw Failure(description: "vips_jpegsave: \(lastError())") }
    }
}
