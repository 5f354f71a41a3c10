// A STAND-IN FOR ABSENT CAMERA HARDWARE. The machines ScanBridge is tested on have no camera
// and their kernels have no virtual video driver (vivid, v4l2loopback), so the camera tests load
// this library with LD_PRELOAD into the real `scanbridge` binary. It answers the C library calls
// ScanBridge's V4L2 code makes (open, close, ioctl, mmap, munmap, poll) for ONE device node, the
// path in SB_V4L2_STANDIN_DEVICE, and passes every other call through unchanged. It is not a
// driver and proves nothing about real cameras beyond the V4L2 protocol it imitates.
//
// The node path must exist as a file (the tests create an empty one in a folder ScanBridge is
// told to search for cameras); removing it unplugs the camera: open fails with ENOENT, poll
// reports POLLERR and VIDIOC_DQBUF fails with ENODEV on descriptors already open. While a file
// named like the node plus ".stall" exists, the camera streams but delivers no frame (poll never
// reports one ready, VIDIOC_DQBUF fails with EAGAIN), as a camera that hangs.
//
// What the stand-in offers (VIDIOC_ENUM_FMT / VIDIOC_ENUM_FRAMESIZES, discrete sizes):
//   MJPG  640x480, 320x240  each frame is the file <W>x<H>.jpg of SB_V4L2_STANDIN_JPEG_DIR, as is
//   YUYV  320x240, 160x120  four vertical bars of equal width, left to right (Y, U, V):
//                           (235,128,128) (81,90,240) (41,240,110) (16,128,128), i.e. white,
//                           red, blue and black in BT.601 limited range; every line carries
//                           16 padding bytes (bytesperline = 2*width + 16) of value 0xEE
//   H264  640x480           listed only, so that clients see a format ScanBridge cannot read
// One descriptor at a time may own the buffers (VIDIOC_REQBUFS); another gets EBUSY, and so does
// another process (a lock on the node file), as a real driver refuses a second streaming client.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_OPEN 8
#define MAX_BUFFERS 4
#define BUFFER_OFFSET_STEP 0x1000000UL
#define YUYV_PADDING 16

struct size { unsigned width, height; };
struct format { unsigned fourcc; unsigned flags; const char *description; struct size sizes[2]; int count; };

static const struct format formats[] = {
    { V4L2_PIX_FMT_MJPEG, V4L2_FMT_FLAG_COMPRESSED, "Motion-JPEG (stand-in)", { { 640, 480 }, { 320, 240 } }, 2 },
    { V4L2_PIX_FMT_YUYV, 0, "YUYV 4:2:2 (stand-in)", { { 320, 240 }, { 160, 120 } }, 2 },
    { V4L2_PIX_FMT_H264, V4L2_FMT_FLAG_COMPRESSED, "H.264 (stand-in)", { { 640, 480 } }, 1 },
};
#define FORMAT_COUNT (sizeof formats / sizeof formats[0])

struct buffer { void *address; size_t length; int queued; unsigned long sequence_queued; };

struct handle {
    int fd;                 // a real descriptor (memfd) so that numbers never collide
    int owner;              // holds the buffers
    int streaming;
    int lock_fd;            // flock on the node file while owning the buffers
    struct v4l2_pix_format pix;
    struct buffer buffers[MAX_BUFFERS];
    unsigned buffer_count;
    unsigned long sequence;
    unsigned long queue_clock;
};

static struct handle handles[MAX_OPEN];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialised;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int (*real_poll)(struct pollfd *, nfds_t, int);

static void initialise(void) {
    if (initialised) return;
    real_open = dlsym(RTLD_NEXT, "open");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_close = dlsym(RTLD_NEXT, "close");
    real_ioctl = dlsym(RTLD_NEXT, "ioctl");
    real_mmap = dlsym(RTLD_NEXT, "mmap");
    real_munmap = dlsym(RTLD_NEXT, "munmap");
    real_poll = dlsym(RTLD_NEXT, "poll");
    for (int i = 0; i < MAX_OPEN; i++) { handles[i].fd = -1; handles[i].lock_fd = -1; }
    initialised = 1;
}

static const char *device_path(void) { return getenv("SB_V4L2_STANDIN_DEVICE"); }

static int plugged_in(void) {
    struct stat info;
    const char *path = device_path();
    return path && stat(path, &info) == 0;
}

static int stalled(void) {
    char path[4096];
    struct stat info;
    snprintf(path, sizeof path, "%s.stall", device_path() ? device_path() : "");
    return stat(path, &info) == 0;
}

static int is_device(const char *path) {
    const char *device = device_path();
    return device && path && strcmp(device, path) == 0;
}

static struct handle *find(int fd) {
    if (fd < 0) return NULL;
    for (int i = 0; i < MAX_OPEN; i++) if (handles[i].fd == fd) return &handles[i];
    return NULL;
}

static const struct format *find_format(unsigned fourcc) {
    for (unsigned i = 0; i < FORMAT_COUNT; i++) if (formats[i].fourcc == fourcc) return &formats[i];
    return NULL;
}

static char *jpeg_path(unsigned width, unsigned height) {
    static char path[4096];
    const char *folder = getenv("SB_V4L2_STANDIN_JPEG_DIR");
    snprintf(path, sizeof path, "%s/%ux%u.jpg", folder ? folder : ".", width, height);
    return path;
}

static long file_size(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

static void set_pix(struct handle *h, unsigned fourcc, unsigned width, unsigned height) {
    const struct format *format = find_format(fourcc);
    if (!format) format = &formats[0];
    // The offered size closest in area, as drivers pick.
    struct size best = format->sizes[0];
    long wanted = (long)width * height, distance = -1;
    for (int i = 0; i < format->count; i++) {
        long d = labs((long)format->sizes[i].width * format->sizes[i].height - wanted);
        if (distance < 0 || d < distance) { distance = d; best = format->sizes[i]; }
    }
    memset(&h->pix, 0, sizeof h->pix);
    h->pix.width = best.width;
    h->pix.height = best.height;
    h->pix.pixelformat = format->fourcc;
    h->pix.field = V4L2_FIELD_NONE;
    h->pix.colorspace = V4L2_COLORSPACE_SRGB;
    if (format->fourcc == V4L2_PIX_FMT_YUYV) {
        h->pix.bytesperline = best.width * 2 + YUYV_PADDING;
        h->pix.sizeimage = h->pix.bytesperline * best.height;
    } else {
        long jpeg = file_size(jpeg_path(best.width, best.height));
        h->pix.bytesperline = 0;
        h->pix.sizeimage = best.width * best.height * 2;
        if (jpeg > (long)h->pix.sizeimage) h->pix.sizeimage = (unsigned)jpeg;
    }
}

static void unmap_buffers(struct handle *h) {
    for (unsigned i = 0; i < h->buffer_count; i++) {
        if (h->buffers[i].address) real_munmap(h->buffers[i].address, h->buffers[i].length);
        memset(&h->buffers[i], 0, sizeof h->buffers[i]);
    }
    h->buffer_count = 0;
    h->streaming = 0;
}

// Frees the buffers and gives up ownership of the device (and its cross-process lock).
static void release_buffers(struct handle *h) {
    unmap_buffers(h);
    if (h->lock_fd >= 0) { flock(h->lock_fd, LOCK_UN); real_close(h->lock_fd); h->lock_fd = -1; }
    h->owner = 0;
}

static void fill_yuyv(unsigned char *frame, const struct v4l2_pix_format *pix) {
    static const unsigned char bars[4][3] = { { 235, 128, 128 }, { 81, 90, 240 }, { 41, 240, 110 }, { 16, 128, 128 } };
    for (unsigned y = 0; y < pix->height; y++) {
        unsigned char *line = frame + (size_t)y * pix->bytesperline;
        for (unsigned pair = 0; pair < pix->width / 2; pair++) {
            const unsigned char *bar = bars[(pair * 2) * 4 / pix->width];
            line[pair * 4] = bar[0];
            line[pair * 4 + 1] = bar[1];
            line[pair * 4 + 2] = bar[0];
            line[pair * 4 + 3] = bar[2];
        }
        memset(line + pix->width * 2, 0xEE, pix->bytesperline - pix->width * 2);
    }
}

// Writes the next frame into `b`; returns its length, or -1 with errno set.
static long fill_frame(struct handle *h, struct buffer *b) {
    if (h->pix.pixelformat == V4L2_PIX_FMT_YUYV) {
        fill_yuyv(b->address, &h->pix);
        return h->pix.sizeimage;
    }
    if (h->pix.pixelformat == V4L2_PIX_FMT_MJPEG) {
        const char *path = jpeg_path(h->pix.width, h->pix.height);
        int fd = real_open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { errno = EIO; return -1; }
        long total = 0, count;
        while (total < (long)b->length && (count = read(fd, (char *)b->address + total, b->length - total)) > 0) total += count;
        real_close(fd);
        return total;
    }
    errno = EIO;  // H.264 is listed, never delivered
    return -1;
}

static int answer(struct handle *h, unsigned long request, void *argument) {
    switch (request) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *cap = argument;
        memset(cap, 0, sizeof *cap);
        snprintf((char *)cap->driver, sizeof cap->driver, "sb-standin");
        snprintf((char *)cap->card, sizeof cap->card, "ScanBridge V4L2 stand-in");
        snprintf((char *)cap->bus_info, sizeof cap->bus_info, "standin:0");
        cap->version = 0x060100;
        cap->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *description = argument;
        if (description->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || description->index >= FORMAT_COUNT) { errno = EINVAL; return -1; }
        const struct format *format = &formats[description->index];
        unsigned index = description->index;
        memset(description, 0, sizeof *description);
        description->index = index;
        description->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        description->flags = format->flags;
        description->pixelformat = format->fourcc;
        snprintf((char *)description->description, sizeof description->description, "%s", format->description);
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        struct v4l2_frmsizeenum *size = argument;
        const struct format *format = find_format(size->pixel_format);
        if (!format || size->index >= (unsigned)format->count) { errno = EINVAL; return -1; }
        size->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        size->discrete.width = format->sizes[size->index].width;
        size->discrete.height = format->sizes[size->index].height;
        return 0;
    }
    case VIDIOC_G_FMT: {
        struct v4l2_format *format = argument;
        if (format->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) { errno = EINVAL; return -1; }
        format->fmt.pix = h->pix;
        return 0;
    }
    case VIDIOC_S_FMT:
    case VIDIOC_TRY_FMT: {
        struct v4l2_format *format = argument;
        if (format->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) { errno = EINVAL; return -1; }
        if (request == VIDIOC_S_FMT && h->buffer_count > 0) { errno = EBUSY; return -1; }
        struct handle scratch = *h;
        set_pix(&scratch, format->fmt.pix.pixelformat, format->fmt.pix.width, format->fmt.pix.height);
        format->fmt.pix = scratch.pix;
        if (request == VIDIOC_S_FMT) h->pix = scratch.pix;
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *request_buffers = argument;
        if (request_buffers->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || request_buffers->memory != V4L2_MEMORY_MMAP) { errno = EINVAL; return -1; }
        if (request_buffers->count == 0) { release_buffers(h); return 0; }
        for (int i = 0; i < MAX_OPEN; i++) {
            if (&handles[i] != h && handles[i].fd >= 0 && handles[i].owner) { errno = EBUSY; return -1; }
        }
        if (!h->owner) {
            int lock_fd = real_open(device_path(), O_RDONLY | O_CLOEXEC);
            if (lock_fd < 0) { errno = ENODEV; return -1; }
            if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) { real_close(lock_fd); errno = EBUSY; return -1; }
            h->lock_fd = lock_fd;
            h->owner = 1;
        }
        unmap_buffers(h);
        unsigned count = request_buffers->count > MAX_BUFFERS ? MAX_BUFFERS : request_buffers->count;
        for (unsigned i = 0; i < count; i++) h->buffers[i].length = h->pix.sizeimage;
        h->buffer_count = count;
        request_buffers->count = count;
        return 0;
    }
    case VIDIOC_QUERYBUF:
    case VIDIOC_QBUF:
    case VIDIOC_DQBUF: {
        struct v4l2_buffer *buffer = argument;
        if (buffer->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || buffer->memory != V4L2_MEMORY_MMAP) { errno = EINVAL; return -1; }
        if (request == VIDIOC_DQBUF) {
            if (!plugged_in()) { errno = ENODEV; return -1; }
            if (!h->streaming) { errno = EINVAL; return -1; }
            if (stalled()) { errno = EAGAIN; return -1; }
            int oldest = -1;
            for (unsigned i = 0; i < h->buffer_count; i++) {
                if (h->buffers[i].queued && (oldest < 0 || h->buffers[i].sequence_queued < h->buffers[oldest].sequence_queued)) oldest = (int)i;
            }
            if (oldest < 0) { errno = EAGAIN; return -1; }
            struct buffer *b = &h->buffers[oldest];
            if (!b->address) { errno = EINVAL; return -1; }
            long used = fill_frame(h, b);
            if (used < 0) return -1;
            b->queued = 0;
            memset(buffer, 0, sizeof *buffer);
            buffer->index = (unsigned)oldest;
            buffer->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            buffer->memory = V4L2_MEMORY_MMAP;
            buffer->bytesused = (unsigned)used;
            buffer->length = (unsigned)b->length;
            buffer->m.offset = (unsigned)(oldest * BUFFER_OFFSET_STEP);
            buffer->field = V4L2_FIELD_NONE;
            buffer->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_DONE;
            buffer->sequence = (unsigned)h->sequence++;
            return 0;
        }
        if (buffer->index >= h->buffer_count) { errno = EINVAL; return -1; }
        struct buffer *b = &h->buffers[buffer->index];
        if (request == VIDIOC_QBUF) {
            if (b->queued) { errno = EINVAL; return -1; }
            b->queued = 1;
            b->sequence_queued = h->queue_clock++;
        }
        buffer->length = (unsigned)b->length;
        buffer->m.offset = (unsigned)(buffer->index * BUFFER_OFFSET_STEP);
        buffer->flags = (b->address ? V4L2_BUF_FLAG_MAPPED : 0) | (b->queued ? V4L2_BUF_FLAG_QUEUED : 0);
        return 0;
    }
    case VIDIOC_STREAMON:
    case VIDIOC_STREAMOFF: {
        const int *type = argument;
        if (*type != V4L2_BUF_TYPE_VIDEO_CAPTURE || !h->owner) { errno = EINVAL; return -1; }
        if (request == VIDIOC_STREAMON && !plugged_in()) { errno = ENODEV; return -1; }
        h->streaming = request == VIDIOC_STREAMON;
        if (!h->streaming) for (unsigned i = 0; i < h->buffer_count; i++) h->buffers[i].queued = 0;
        return 0;
    }
    default:
        errno = ENOTTY;
        return -1;
    }
}

static int open_device(void) {
    if (!plugged_in()) { errno = ENOENT; return -1; }
    int fd = (int)syscall(SYS_memfd_create, "v4l2-standin", MFD_CLOEXEC);
    if (fd < 0) return -1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_OPEN; i++) {
        if (handles[i].fd < 0) {
            memset(&handles[i], 0, sizeof handles[i]);
            handles[i].fd = fd;
            handles[i].lock_fd = -1;
            set_pix(&handles[i], formats[0].fourcc, formats[0].sizes[0].width, formats[0].sizes[0].height);
            pthread_mutex_unlock(&lock);
            return fd;
        }
    }
    pthread_mutex_unlock(&lock);
    real_close(fd);
    errno = EMFILE;
    return -1;
}

int open(const char *path, int flags, ...) {
    initialise();
    if (is_device(path)) return open_device();
    va_list list;
    va_start(list, flags);
    mode_t mode = va_arg(list, mode_t);
    va_end(list);
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open(path, flags); }

int openat(int folder, const char *path, int flags, ...) {
    initialise();
    if (is_device(path)) return open_device();
    va_list list;
    va_start(list, flags);
    mode_t mode = va_arg(list, mode_t);
    va_end(list);
    return real_openat(folder, path, flags, mode);
}

int openat64(int folder, const char *path, int flags, ...) __attribute__((alias("openat")));

int close(int fd) {
    initialise();
    pthread_mutex_lock(&lock);
    struct handle *h = find(fd);
    if (h) {
        release_buffers(h);
        h->fd = -1;
    }
    pthread_mutex_unlock(&lock);
    return real_close(fd);
}

int ioctl(int fd, unsigned long request, ...) {
    initialise();
    va_list list;
    va_start(list, request);
    void *argument = va_arg(list, void *);
    va_end(list);
    pthread_mutex_lock(&lock);
    struct handle *h = find(fd);
    if (!h) {
        pthread_mutex_unlock(&lock);
        return real_ioctl(fd, request, argument);
    }
    int result = answer(h, request, argument);
    int saved = errno;
    pthread_mutex_unlock(&lock);
    errno = saved;
    return result;
}

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    initialise();
    pthread_mutex_lock(&lock);
    struct handle *h = find(fd);
    if (!h) {
        pthread_mutex_unlock(&lock);
        return real_mmap(address, length, protection, flags, fd, offset);
    }
    unsigned long index = (unsigned long)offset / BUFFER_OFFSET_STEP;
    if ((unsigned long)offset % BUFFER_OFFSET_STEP != 0 || index >= h->buffer_count || length > h->buffers[index].length
        || h->buffers[index].address) {
        pthread_mutex_unlock(&lock);
        errno = EINVAL;
        return MAP_FAILED;
    }
    void *mapped = real_mmap(NULL, h->buffers[index].length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mapped != MAP_FAILED) h->buffers[index].address = mapped;
    pthread_mutex_unlock(&lock);
    return mapped;
}

void *mmap64(void *address, size_t length, int protection, int flags, int fd, off_t offset) __attribute__((alias("mmap")));

int munmap(void *address, size_t length) {
    initialise();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_OPEN; i++) {
        if (handles[i].fd < 0) continue;
        for (unsigned j = 0; j < handles[i].buffer_count; j++) {
            if (handles[i].buffers[j].address == address) {
                int result = real_munmap(address, handles[i].buffers[j].length);
                handles[i].buffers[j].address = NULL;
                pthread_mutex_unlock(&lock);
                return result;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return real_munmap(address, length);
}

// The readiness of a stand-in descriptor: a frame is ready whenever a buffer is queued while
// streaming; an unplugged or idle device reports POLLERR, as V4L2 drivers do.
static short readiness(struct handle *h, short requested) {
    if (!plugged_in() || !h->streaming) return POLLERR;
    if (stalled()) return 0;
    for (unsigned j = 0; j < h->buffer_count; j++) if (h->buffers[j].queued) return requested & (POLLIN | POLLRDNORM);
    return 0;
}

int poll(struct pollfd *descriptors, nfds_t count, int timeout) {
    initialise();
    enum { MAX_POLLED = 64 };
    if (count > MAX_POLLED) return real_poll(descriptors, count, timeout);
    int saved[MAX_POLLED];
    short answers[MAX_POLLED];
    int ours = 0, ready = 0;
    pthread_mutex_lock(&lock);
    for (nfds_t i = 0; i < count; i++) {
        saved[i] = descriptors[i].fd;
        struct handle *h = find(descriptors[i].fd);
        answers[i] = h ? readiness(h, descriptors[i].events) : 0;
        if (!h) continue;
        ours++;
        if (answers[i]) ready++;
        descriptors[i].fd = -1;  // the real poll skips negative descriptors
    }
    pthread_mutex_unlock(&lock);
    if (!ours) return real_poll(descriptors, count, timeout);
    int others = real_poll(descriptors, count, ready ? 0 : timeout);
    for (nfds_t i = 0; i < count; i++) {
        if (descriptors[i].fd == -1 && saved[i] != -1) descriptors[i].revents = answers[i];
        descriptors[i].fd = saved[i];
    }
    return others < 0 ? others : others + ready;
}
