// TurboJPEG for ScanBridgeImaging. Nothing needs wrapping; the header is imported as it is.
#ifndef SB_CTURBOJPEG_SHIM_H
#define SB_CTURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
