// SANE for ScanBridgeDevices. SANE_FIX/SANE_UNFIX and the version macros are function-like.
#ifndef SB_CLIBSANE_SHIM_H
#define SB_CLIBSANE_SHIM_H
#include <sane/sane.h>
#include <sane/saneopts.h>

static inline SANE_Word sb_sane_fix(double value) { return SANE_FIX(value); }
static inline double sb_sane_unfix(SANE_Word value) { return SANE_UNFIX(value); }
static inline int sb_sane_version_major(SANE_Int code) { return SANE_VERSION_MAJOR(code); }
static inline int sb_sane_version_minor(SANE_Int code) { return SANE_VERSION_MINOR(code); }
static inline int sb_sane_version_build(SANE_Int code) { return SANE_VERSION_BUILD(code); }
#endif
