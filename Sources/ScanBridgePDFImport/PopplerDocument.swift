import CPoppler
#if canImport(Glibc)
import Glibc
#endif
import ScanBridgeCore
import ScanBridgeImaging

/// A PDF opened by poppler-glib. poppler is blocking and keeps per-document state that is not
/// safe to share between threads: every call on one runs on `PopplerDocument.thread`, created and
/// closed there within one job.
final class PopplerDocument {
    /// The one thread poppler runs on.
    static let thread = DedicatedThreads(name: "sb-pdf-render")

    enum OpenError: Error {
        case encrypted
        case damaged(String)
    }

    private let document: OpaquePointer
    /// The memory file poppler reads the PDF from, open while the document is.
    private let file: Int32

    /// Opens `bytes` with `password` (nil: none). poppler reads them from a memory file by path:
    /// its in-memory constructors (Debian 12's 22.12) crash on a wrong password, its file
    /// constructor answers it.
    init(bytes: [UInt8], password: String?) throws(OpenError) {
        let file: Int32
        do {
            file = try Syscall.checked("memfd_create") { sb_memfd_create("sb-pdf-import", SB_MFD_CLOEXEC) }
        } catch {
            throw .damaged("the PDF could not be put in a memory file: \(error)")
        }
        do {
            var written = 0
            while written < bytes.count {
                written += try bytes.withUnsafeBytes { raw throws(SystemCallError) in
                    try Syscall.checked("write") { write(file, raw.baseAddress! + written, raw.count - written) }
                }
            }
        } catch {
            Syscall.close(file)
            throw .damaged("the PDF could not be put in a memory file: \(error)")
        }
        var error: UnsafeMutablePointer<GError>?
        let uri = "file:///proc/self/fd/\(file)"
        guard let opened = poppler_document_new_from_file(uri, password, &error) else {
            Syscall.close(file)
            let code = error?.pointee.code ?? -1, domain = error?.pointee.domain ?? 0
            let message = error.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "poppler could not open it"
            if let error { g_error_free(error) }
            if domain == sb_poppler_error_quark() && code == Int32(POPPLER_ERROR_ENCRYPTED.rawValue) { throw .encrypted }
            throw .damaged(message)
        }
        self.file = file
        document = opened
    }

    deinit {
        sb_g_object_unref(UnsafeMutableRawPointer(document))
        Syscall.close(file)
    }

    var pageCount: Int { Int(poppler_document_get_n_pages(document)) }

    /// The size in pixels page `index` (0-based) has at `dpi`, as `render` makes it.
    func pixelSize(page index: Int, dpi: Double) -> (width: Int, height: Int)? {
        guard let page = poppler_document_get_page(document, Int32(index)) else { return nil }
        defer { sb_g_object_unref(UnsafeMutableRawPointer(page)) }
        var width = 0.0, height = 0.0
        poppler_page_get_size(page, &width, &height)
        return (max(1, Int((width * dpi / 72).rounded())), max(1, Int((height * dpi / 72).rounded())))
    }

    /// Page `index` (0-based) drawn on white at `dpi`, as RGB (gray when every pixel is gray).
    func render(page index: Int, dpi: Double) throws -> Image {
        guard let page = poppler_document_get_page(document, Int32(index)),
              let size = pixelSize(page: index, dpi: dpi) else { throw ScanBridgeError(code: -2113, message: "the PDF has no page \(index + 1)") }
        defer { sb_g_object_unref(UnsafeMutableRawPointer(page)) }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(size.width), Int32(size.height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw ScanBridgeError(code: -2113, message: "cairo has no \(size.width)×\(size.height) surface")
        }
        defer { cairo_surface_destroy(surface) }
        let context = cairo_create(surface)
        cairo_set_source_rgb(context, 1, 1, 1)
        cairo_paint(context)
        cairo_scale(context, dpi / 72, dpi / 72)
        poppler_page_render(page, context)
        let status = cairo_status(context)
        cairo_destroy(context)
        guard status == CAIRO_STATUS_SUCCESS else { throw ScanBridgeError(code: -2113, message: "cairo failed: " + String(cString: cairo_status_to_string(status))) }
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { throw ScanBridgeError(code: -2113, message: "cairo gave a surface without data") }
        let stride = Int(cairo_image_surface_get_stride(surface))
        // CAIRO_FORMAT_RGB24: one native-endian 32-bit word a pixel, 0x00RRGGBB.
        var rgb = [UInt8](repeating: 0, count: size.width * size.height * 3)
        var gray = true
        rgb.withUnsafeMutableBufferPointer { out in
            for y in 0..<size.height {
                let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<size.width {
                    let word = row[x]
                    let r = UInt8((word >> 16) & 0xFF), g = UInt8((word >> 8) & 0xFF), b = UInt8(word & 0xFF)
                    let i = 3 * (y * size.width + x)
                    out[i] = r; out[i + 1] = g; out[i + 2] = b
                    if r != g || g != b { gray = false }
                }
            }
        }
        let image = Image(width: size.width, height: size.height, format: .rgb24, xDPI: dpi, yDPI: dpi, pixels: rgb)
        return gray ? image.converted(to: .gray8) : image
    }
}
