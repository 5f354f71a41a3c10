// poppler-glib (libpoppler-glib-dev) renders the PDF pages ScanBridge imports, through cairo.
// Wrapped here: the error domain macro, the unref of GObject handles, and memfd_create (through
// the variadic syscall(), which Swift cannot call) for the memory file poppler reads from.
#ifndef SB_CPOPPLER_SHIM_H
#define SB_CPOPPLER_SHIM_H
#include <poppler.h>
#include <cairo.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SB_MFD_CLOEXEC 0x0001U
static inline int sb_memfd_create(const char *name, unsigned int flags) { return (int)syscall(SYS_memfd_create, name, flags); }

static inline GQuark sb_poppler_error_quark(void) { return POPPLER_ERROR; }
static inline void sb_g_object_unref(void *object) { g_object_unref(object); }
#endif
