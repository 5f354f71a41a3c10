// libpng for ScanBridgeImaging.
//
// libpng reports an error by calling the error callback, which must not return: it longjmps to
// a setjmp in the caller. Swift frames must never be jumped over (their releases and defers
// would be skipped), so every low-level libpng sequence runs here, in C, under its own setjmp,
// and comes back to Swift as a status and libpng's message.
#ifndef SB_CLIBPNG_SHIM_H
#define SB_CLIBPNG_SHIM_H
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/// libpng's message of a failed call.
typedef struct {
    char text[256];
} sb_png_message;

/// Encoded bytes, grown with realloc; free with sb_png_output_free.
typedef struct {
    unsigned char *bytes;
    size_t count;
    size_t capacity;
} sb_png_output;

static inline void sb_png_output_free(sb_png_output *output) {
    free(output->bytes);
    output->bytes = NULL;
    output->count = output->capacity = 0;
}

static void sb_png_on_error(png_structp png, png_const_charp text) {
    sb_png_message *message = (sb_png_message *)png_get_error_ptr(png);
    if (message != NULL) {
        strncpy(message->text, text != NULL ? text : "error", sizeof message->text - 1);
        message->text[sizeof message->text - 1] = 0;
    }
    png_longjmp(png, 1);
}

static void sb_png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void sb_png_on_write(png_structp png, png_bytep data, size_t length) {
    sb_png_output *output = (sb_png_output *)png_get_io_ptr(png);
    if (output->count + length > output->capacity) {
        size_t capacity = output->capacity < 65536 ? 65536 : output->capacity;
        while (capacity < output->count + length) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(output->bytes, capacity);
        if (grown == NULL) png_error(png, "out of memory for the PNG output");
        output->bytes = grown;
        output->capacity = capacity;
    }
    memcpy(output->bytes + output->count, data, length);
    output->count += length;
}

static void sb_png_on_flush(png_structp png) { (void)png; }

/// Encodes `height` rows of `stride` bytes into `output`; 0 on success, else -1 with libpng's
/// message. `x_ppm`/`y_ppm` of 0 write no pHYs chunk.
static inline int sb_png_encode(const unsigned char *pixels, size_t stride, png_uint_32 width, png_uint_32 height,
                                int bit_depth, int color_type, int level, int filters,
                                png_uint_32 x_ppm, png_uint_32 y_ppm, int invert_mono, int swap_bytes,
                                sb_png_output *output, sb_png_message *message) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, sb_png_on_error, sb_png_on_warning);
    if (png == NULL) {
        strcpy(message->text, "png_create_write_struct failed");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info != NULL ? &info : NULL);
        if (info == NULL) strcpy(message->text, "png_create_info_struct failed");
        return -1;
    }
    png_set_write_fn(png, output, sb_png_on_write, sb_png_on_flush);
    png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, level);
    png_set_filter(png, 0, filters);
    if (x_ppm > 0 && y_ppm > 0) png_set_pHYs(png, info, x_ppm, y_ppm, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    if (invert_mono) png_set_invert_mono(png);
    if (swap_bytes) png_set_swap(png);
    for (png_uint_32 y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

typedef struct {
    const unsigned char *bytes;
    size_t count;
    size_t position;
} sb_png_input;

static void sb_png_on_read(png_structp png, png_bytep data, size_t length) {
    sb_png_input *input = (sb_png_input *)png_get_io_ptr(png);
    if (length > input->count - input->position) png_error(png, "the PNG data ends early");
    memcpy(data, input->bytes + input->position, length);
    input->position += length;
}

/// Reads a 16-bit PNG's rows (alpha stripped, gray expanded to RGB when `to_rgb`, samples in
/// host order when `swap_bytes`) into `pixels`, `row_bytes` a row; 0 on success, else -1 with
/// libpng's message (a row layout other than `row_bytes` is an error too).
static inline int sb_png_read_sixteen_bit(const unsigned char *bytes, size_t count, int to_rgb, int swap_bytes,
                                          unsigned char *pixels, size_t row_bytes, png_uint_32 height,
                                          sb_png_message *message) {
    sb_png_input input = { bytes, count, 0 };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, sb_png_on_error, sb_png_on_warning);
    if (png == NULL) {
        strcpy(message->text, "png_create_read_struct failed");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info != NULL ? &info : NULL, NULL);
        if (info == NULL) strcpy(message->text, "png_create_info_struct failed");
        return -1;
    }
    png_set_read_fn(png, &input, sb_png_on_read);
    png_read_info(png, info);
    png_set_strip_alpha(png);
    if (to_rgb && (png_get_color_type(png, info) & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
    if (swap_bytes) png_set_swap(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != row_bytes || png_get_image_height(png, info) != height)
        png_error(png, "PNG 16-bit row layout not supported");
    for (png_uint_32 y = 0; y < height; y++) png_read_row(png, pixels + (size_t)y * row_bytes, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

#endif
