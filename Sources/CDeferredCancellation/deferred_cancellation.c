// Why this file exists: SANE's sanei_thread, which most backends (the `test` backend among them)
// use for their reader thread, sets that thread to PTHREAD_CANCEL_ASYNCHRONOUS and ends it with
// pthread_cancel at the end of every page and on every sane_cancel. Asynchronous cancellation
// may strike anywhere, including inside malloc/free or glibc's thread-exit path, where it leaves
// a heap arena lock (or the TLS lock) held by a thread that no longer exists; the next thread
// that needs that lock blocks forever. In a long-lived service that reads thousands of pages in
// one process this happens sooner or later (seen here after 250-470 A4 pages: the device thread
// waiting in pthread_join for a reader stuck in free() during tcache_thread_shutdown).
// `scanimage` hardly ever meets it because it starts a new process per batch.
//
// POSIX allows only async-cancel-safe calls (almost none) under asynchronous cancellation, so
// the only correct type for such a reader is DEFERRED: the reader then ends at its next
// cancellation point (the write() to its pipe, a sleep), which is exactly where it spends its
// time. Nothing in ScanBridge itself asks for asynchronous cancellation.
//
// The executable defines the symbol and exports it (`--export-dynamic-symbol`, Package.swift);
// the dynamic linker searches the executable before libc, so a backend that dlopen() loads later
// binds its pthread_setcanceltype calls here. The real call is libc's, found with RTLD_NEXT.
#define _GNU_SOURCE
#include "deferred_cancellation.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef int (*set_cancel_type_function)(int, int *);

static _Atomic(set_cancel_type_function) libc_set_cancel_type;

static set_cancel_type_function libc_function(void) {
    set_cancel_type_function function = atomic_load_explicit(&libc_set_cancel_type, memory_order_acquire);
    if (function == NULL) {
        // Racing first calls all store the same address.
        function = (set_cancel_type_function)dlsym(RTLD_NEXT, "pthread_setcanceltype");
        atomic_store_explicit(&libc_set_cancel_type, function, memory_order_release);
    }
    return function;
}

int pthread_setcanceltype(int type, int *oldtype) {
    set_cancel_type_function function = libc_function();
    if (function == NULL) return 22; // EINVAL: libc without the function cannot happen on glibc
    return function(type == PTHREAD_CANCEL_ASYNCHRONOUS ? PTHREAD_CANCEL_DEFERRED : type, oldtype);
}

int sb_deferred_cancellation_is_active(void) {
    return dlsym(RTLD_DEFAULT, "pthread_setcanceltype") == (void *)pthread_setcanceltype;
}
