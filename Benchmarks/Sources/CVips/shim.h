// libvips for imaging-bench's in-process reference. The operations libvips exposes are C
// variadic functions (optional arguments end in NULL), which Swift cannot call: these wrappers
// fix the arguments the benchmark uses.
#include <vips/vips.h>

/// Box-average shrink by integer factors: the same arithmetic as ScanBridge's area-averaging
/// resize at 1/2 and 1/4.
static inline int cvips_shrink(VipsImage *in, VipsImage **out, double factor) {
    return vips_shrink(in, out, factor, factor, NULL);
}

/// A thumbnail of a file at most `width` × `height`, shrink-on-load for JPEG, as vipsthumbnail.
static inline int cvips_thumbnail(const char *filename, VipsImage **out, int width, int height) {
    return vips_thumbnail(filename, out, width, "height", height, NULL);
}

static inline int cvips_jpegsave(VipsImage *in, const char *filename, int quality) {
    return vips_jpegsave(in, filename, "Q", quality, NULL);
}

static inline void cvips_unref(VipsImage *image) { g_object_unref(image); }
static inline void cvips_free(void *memory) { g_free(memory); }
