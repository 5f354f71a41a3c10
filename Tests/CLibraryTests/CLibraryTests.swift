import CLibCurl
import CLibPNG
import CLibSANE
import CLibTIFF
import CLibURing
import CLibV4L2
import COpenSSL
import CPoppler
import CTurboJPEG
import Foundation
import Testing

/// Each system-library target resolves, links and answers a call; the shims compile.
@Suite("C libraries")
struct CLibraryTests {
    @Test func liburing() {
        var ring = io_uring()
        let result = io_uring_queue_init(4, &ring, 0)
        // -EPERM/-ENOSYS where io_uring is refused (containers); the library still linked.
        if result == 0 { io_uring_queue_exit(&ring) } else { #expect([-EPERM, -ENOSYS].contains(result)) }
    }

    @Test func sane() {
        #expect(sb_sane_unfix(sb_sane_fix(215.9)) > 215.89)
        #expect(String(cString: sane_strstatus(SANE_STATUS_JAMMED)).lowercased().contains("jam"))
    }

    @Test func turbojpeg() {
        let handle = tjInitCompress()
        #expect(handle != nil)
        tjDestroy(handle)
    }

    @Test func libpng() { #expect(png_access_version_number() >= 10600) }

    @Test func poppler() {
        #expect(String(cString: poppler_get_version()).split(separator: ".").count >= 2)
        let file = sb_memfd_create("sb-test", SB_MFD_CLOEXEC)
        #expect(file >= 0)
        if file >= 0 { close(file) }
    }

    @Test func libtiff() { #expect(String(cString: TIFFGetVersion()).contains("LIBTIFF")) }

    @Test func libcurl() {
        #expect(String(cString: curl_version()).contains("libcurl/"))
        let handle = curl_easy_init()
        #expect(sb_curl_easy_setopt_long(handle, CURLOPT_VERBOSE, 0) == CURLE_OK)
        curl_easy_cleanup(handle)
    }

    @Test func openssl() {
        #expect(String(cString: OpenSSL_version(Int32(OPENSSL_VERSION))).hasPrefix("OpenSSL 3"))
        let context = SSL_CTX_new(TLS_server_method())
        #expect(sb_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1)
        SSL_CTX_free(context)
    }

    @Test func v4l2() {
        #expect(sb_v4l2_open("/nonexistent/video99", O_RDWR) == -1)
        #expect(SB_VIDIOC_QUERYCAP != 0)
    }
}
