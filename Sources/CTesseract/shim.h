// Tesseract's C API for ScanBridgeOCR (Debian libtesseract-dev). Nothing needs wrapping: the C API
// is plain functions and enums.
#ifndef SB_CTESSERACT_SHIM_H
#define SB_CTESSERACT_SHIM_H
#include <tesseract/capi.h>
#endif
