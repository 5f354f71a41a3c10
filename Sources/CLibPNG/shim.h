// libpng for ScanBridgeImaging.
#ifndef SB_CLIBPNG_SHIM_H
#define SB_CLIBPNG_SHIM_H
#include <png.h>
#endif
