// The kernel's V4L2 interface for cameras in ScanBridgeDevices: ioctl is variadic and the
// VIDIOC_* request codes are function-like macros (_IOWR), so both are wrapped here. The calls
// go straight to the C library's open and ioctl (no libv4l2 in between), so that ScanBridge
// itself negotiates formats, streams through mmap buffers and waits with poll and a time-out.
#ifndef SB_CLIBV4L2_SHIM_H
#define SB_CLIBV4L2_SHIM_H
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/videodev2.h>

static inline int sb_v4l2_open(const char *path, int flags) { return open(path, flags | O_CLOEXEC); }
static inline int sb_v4l2_ioctl(int fd, unsigned long request, void *argument) { return ioctl(fd, request, argument); }

static const unsigned long SB_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long SB_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long SB_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long SB_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long SB_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long SB_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long SB_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long SB_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long SB_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long SB_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long SB_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;
#endif
