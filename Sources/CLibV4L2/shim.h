// libv4l2 for cameras in ScanBridgeDevices. v4l2_open and v4l2_ioctl are variadic, and the
// VIDIOC_* request codes are function-like macros (_IOWR): both wrapped here.
#ifndef SB_CLIBV4L2_SHIM_H
#define SB_CLIBV4L2_SHIM_H
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/videodev2.h>
#include <libv4l2.h>

static inline int sb_v4l2_open(const char *path, int flags) { return v4l2_open(path, flags); }
static inline int sb_v4l2_ioctl(int fd, unsigned long request, void *argument) { return v4l2_ioctl(fd, request, argument); }

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
