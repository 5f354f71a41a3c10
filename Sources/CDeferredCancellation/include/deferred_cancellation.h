#ifndef SCANBRIDGE_DEFERRED_CANCELLATION_H
#define SCANBRIDGE_DEFERRED_CANCELLATION_H

/// ScanBridge's own definition of `pthread_setcanceltype`, exported from the executable so that
/// every library loaded into the process (SANE backends above all) binds to it: a request for
/// PTHREAD_CANCEL_ASYNCHRONOUS is turned into PTHREAD_CANCEL_DEFERRED. See the .c file for why.
///
/// Returns 1 when the definition the dynamic linker hands out for `pthread_setcanceltype` (the
/// one a dlopen'ed backend gets) is this one, 0 otherwise.
int sb_deferred_cancellation_is_active(void);

#endif
