/* errf.h — the one way runtime loaders report a failure: a message in the
 * caller's buffer and -1, so a loader can `return rt_errf(err, errlen, ...)`. */
#ifndef NETC_RUNTIME_ERRF_H
#define NETC_RUNTIME_ERRF_H

#include <stddef.h>

#if defined(__GNUC__)
#define RT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RT_PRINTF(f, a)
#endif

/* snprintf into err (when err is not NULL and errlen > 0); returns -1. */
int rt_errf(char *err, size_t errlen, const char *fmt, ...) RT_PRINTF(3, 4);

#endif
