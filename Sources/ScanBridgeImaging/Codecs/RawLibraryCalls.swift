import CLibPNG
import CLibTIFF
import CTurboJPEG

/// The bare library calls behind the codecs, with reused handles and preallocated buffers: the
/// reference the benchmarks measure the codecs' overhead against. Not API for the service.
@_spi(Benchmarks)
public final class RawLibraryCalls {
    private let compressor: tjhandle
    private let decompressor: tjhandle
    private var output: UnsafeMutablePointer<UInt8>
    private let capacity: Int

    public init(maxBytes: Int) {
        compressor = tjInitCompress()
        decompressor = tjInitDecompress()
        capacity = maxBytes
        output = tjAlloc(Int32(maxBytes))
    }

    deinit {
        tjFree(output)
        tjDestroy(compressor)
        tjDestroy(decompressor)
    }

    /// tjCompress2 into the preallocated buffer; returns the JPEG size.
    public func jpegEncode(_ image: Image, quality: Int, subsampling: JPEGCodec.Subsampling) -> Int {
        var size = UInt(capacity)
        var buffer: UnsafeMutablePointer<UInt8>? = output
        let gray = image.format == .gray8
        let status = image.pixels.withUnsafeBufferPointer {
            tjCompress2(compressor, $0.baseAddress, Int32(image.width), Int32(image.stride), Int32(image.height),
                        gray ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue), &buffer, &size,
                        gray ? Int32(TJSAMP_GRAY.rawValue) : subsampling.turbo, Int32(quality), TJFLAG_NOREALLOC)
        }
        precondition(status == 0, String(cString: tjGetErrorStr2(compressor)))
        return Int(size)
    }

    /// tjDecompress2 into the preallocated buffer.
    public func jpegDecode(_ jpeg: [UInt8], width: Int, height: Int, gray: Bool) {
        let status = jpeg.withUnsafeBufferPointer {
            tjDecompress2(decompressor, $0.baseAddress, UInt($0.count), output, Int32(width), 0, Int32(height),
                          gray ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue), 0)
        }
        precondition(status == 0, String(cString: tjGetErrorStr2(decompressor)))
    }

    /// libpng's low-level writer with the codec's settings, into the preallocated buffer.
    public func pngEncode(_ image: Image, level: Int, filters: PNGCodec.Filters) -> Int {
        var png: png_structp? = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, nil, nil)
        var info = png_create_info_struct(png)
        let sink = RawSink(base: output, capacity: capacity)
        let context = Unmanaged.passRetained(sink)
        png_set_write_fn(png, context.toOpaque(), { png, data, length in
            let sink = Unmanaged<RawSink>.fromOpaque(png_get_io_ptr(png)!).takeUnretainedValue()
            (sink.base + sink.count).update(from: data!, count: length)
            sink.count += length
        }, nil)
        png_set_IHDR(png, info, UInt32(image.width), UInt32(image.height), Int32(image.format.bitsPerSample),
                     image.format.channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT)
        png_set_compression_level(png, Int32(level))
        png_set_filter(png, 0, image.format == .bw1 ? PNG_FILTER_NONE : filters.mask)
        png_write_info(png, info)
        if image.format == .bw1 { png_set_invert_mono(png) }
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height { png_write_row(png, p.baseAddress! + y * image.stride) }
        }
        png_write_end(png, info)
        png_destroy_write_struct(&png, &info)
        context.release()
        return sink.count
    }

    /// libpng's simplified reader into the preallocated buffer.
    public func pngDecode(_ bytes: [UInt8], color: Bool) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        _ = bytes.withUnsafeBufferPointer { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        image.format = color ? PNG_FORMAT_FLAG_COLOR : 0
        precondition(png_image_finish_read(&image, nil, output, 0, nil) != 0)
        png_image_free(&image)
    }

    /// libtiff strips written straight from `image`'s buffer (no per-strip copy) into memory.
    public func tiffEncode(_ image: inout Image, compression: TIFFCompression) -> Int {
        let stream = TIFFStream(bytes: [])
        stream.bytes.reserveCapacity(capacity)
        let messages = TIFFMessages()
        guard let tif = try? messages.open({ stream.open(mode: "w", options: $0) }) else { preconditionFailure("TIFF open") }
        _ = sb_tiff_set_uint32(tif, UInt32(TIFFTAG_IMAGEWIDTH), UInt32(image.width))
        _ = sb_tiff_set_uint32(tif, UInt32(TIFFTAG_IMAGELENGTH), UInt32(image.height))
        _ = sb_tiff_set_uint16(tif, UInt32(TIFFTAG_BITSPERSAMPLE), UInt16(image.format.bitsPerSample))
        _ = sb_tiff_set_uint16(tif, UInt32(TIFFTAG_SAMPLESPERPIXEL), UInt16(image.format.channels))
        _ = sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PLANARCONFIG), UInt16(PLANARCONFIG_CONTIG))
        _ = sb_tiff_set_uint16(tif, UInt32(TIFFTAG_COMPRESSION), compression.tag)
        let photometric = image.format == .bw1 ? PHOTOMETRIC_MINISWHITE : (image.format.channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK)
        _ = sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PHOTOMETRIC), UInt16(photometric))
        if compression == .lzw && image.format != .bw1 { _ = sb_tiff_set_uint16(tif, UInt32(TIFFTAG_PREDICTOR), UInt16(PREDICTOR_HORIZONTAL)) }
        let rows = Int(TIFFDefaultStripSize(tif, 0))
        _ = sb_tiff_set_uint32(tif, UInt32(TIFFTAG_ROWSPERSTRIP), UInt32(rows))
        let rowBytes = image.rowBytes
        image.pixels.withUnsafeMutableBytes { raw in
            var strip: UInt32 = 0, row = 0
            while row < image.height {
                let n = min(rows, image.height - row)
                _ = TIFFWriteEncodedStrip(tif, strip, raw.baseAddress! + row * image.stride, tmsize_t(n * rowBytes))
                strip += 1; row += n
            }
        }
        _ = TIFFWriteDirectory(tif)
        TIFFClose(tif)
        return stream.bytes.count
    }
}

final class RawSink {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0
    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) { self.base = base; self.capacity = capacity }
}
