// liburing for ScanBridgeIO. liburing's helpers are `static inline` and import as they are;
// only function-like macros get a wrapper here.
#ifndef SB_CLIBURING_SHIM_H
#define SB_CLIBURING_SHIM_H
// glibc headers first, so that they are read with the default feature macros like in every other
// module (Swift's own included): liburing.h defines _XOPEN_SOURCE and _GNU_SOURCE, which would
// otherwise change how fd_set is declared and make two modules disagree about it.
#include <sys/types.h>
#include <sys/select.h>
#include <signal.h>
#include <sched.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>

/// `io_uring_for_each_cqe` is a macro; this returns the number of ready completions copied
/// into `cqes` (at most `count`) without waiting.
static inline unsigned sb_io_uring_peek_batch(struct io_uring *ring, struct io_uring_cqe **cqes, unsigned count) {
    return io_uring_peek_batch_cqe(ring, cqes, count);
}

/// `accept4` is declared by glibc only under _GNU_SOURCE, which this module must not set before
/// the glibc headers (see above); this wrapper declares and calls it.
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
static inline int sb_accept4(int fd, int flags) {
    return accept4(fd, (struct sockaddr *)0, (socklen_t *)0, flags);
}
#endif
