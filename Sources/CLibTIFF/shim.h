// libtiff for ScanBridgeImaging. TIFFSetField/TIFFGetField are variadic: one typed wrapper per
// argument shape that ScanBridge uses.
#ifndef SB_CLIBTIFF_SHIM_H
#define SB_CLIBTIFF_SHIM_H
#include <tiffio.h>

static inline int sb_tiff_set_uint16(TIFF *tif, uint32_t tag, uint16_t value) { return TIFFSetField(tif, tag, value); }
static inline int sb_tiff_set_uint32(TIFF *tif, uint32_t tag, uint32_t value) { return TIFFSetField(tif, tag, value); }
static inline int sb_tiff_set_int(TIFF *tif, uint32_t tag, int value) { return TIFFSetField(tif, tag, value); }
static inline int sb_tiff_set_double(TIFF *tif, uint32_t tag, double value) { return TIFFSetField(tif, tag, value); }
static inline int sb_tiff_set_string(TIFF *tif, uint32_t tag, const char *value) { return TIFFSetField(tif, tag, value); }
static inline int sb_tiff_get_uint16(TIFF *tif, uint32_t tag, uint16_t *value) { return TIFFGetField(tif, tag, value); }
static inline int sb_tiff_get_uint32(TIFF *tif, uint32_t tag, uint32_t *value) { return TIFFGetField(tif, tag, value); }
static inline int sb_tiff_get_float(TIFF *tif, uint32_t tag, float *value) { return TIFFGetField(tif, tag, value); }
static inline int sb_tiff_get_defaulted_uint16(TIFF *tif, uint32_t tag, uint16_t *value) { return TIFFGetFieldDefaulted(tif, tag, value); }
// ScanBridgeImaging: reading uint16 pairs/arrays and float resolutions defaulted.
static inline int sb_tiff_get_defaulted_float(TIFF *tif, uint32_t tag, float *value) { return TIFFGetFieldDefaulted(tif, tag, value); }
static inline int sb_tiff_set_uint16_pair(TIFF *tif, uint32_t tag, uint16_t first, uint16_t second) { return TIFFSetField(tif, tag, first, second); }
static inline int sb_tiff_get_int(TIFF *tif, uint32_t tag, int *value) { return TIFFGetField(tif, tag, value); }
#endif
