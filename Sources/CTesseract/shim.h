// Tesseract's C API for ScanBridgeOCR (Debian libtesseract-dev). Nothing needs wrapping: the C API
// is plain functions and enums.
#ifndef SB_CTESSERACT_SHIM_H
#define SB_CTESSERACT_SHIM_H
#include <tesseract/capi.h>

// Debian builds Tesseract with OpenMP (libgomp). ScanBridge reads pages in parallel, one per
// thread, so each OCR thread limits its own OpenMP team to itself; omp.h is GCC's and not on
// clang's path, so the one function is declared here.
void omp_set_num_threads(int);
#endif
