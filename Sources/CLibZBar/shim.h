// ZBar for barcode reading in ScanBridgeImaging. zbar_fourcc is a function-like macro.
#ifndef SB_CLIBZBAR_SHIM_H
#define SB_CLIBZBAR_SHIM_H
#include <zbar.h>

/// The "Y800" (8-bit gray) format ZBar scans.
static inline unsigned long sb_zbar_format_y800(void) { return zbar_fourcc('Y', '8', '0', '0'); }
#endif
