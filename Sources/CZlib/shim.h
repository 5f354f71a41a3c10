// zlib for ScanBridgeImaging (Flate streams of the PDF writer). Nothing needs wrapping: the one-shot
// compress2/compressBound are plain functions.
#ifndef SB_CZLIB_SHIM_H
#define SB_CZLIB_SHIM_H
#include <zlib.h>
#endif
