/* fuzz_util.h — shared by the libFuzzer targets (header-only): the loaders
 * read files, so each target writes its input into a scratch directory of
 * its own, made once per process and reused. */
#ifndef NETC_FUZZ_UTIL_H
#define NETC_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The process's scratch directory (under $TMPDIR or /tmp). */
static inline const char *fz_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/netc-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

/* Write n bytes to dir/name (replacing it); the full path goes to path. */
static inline void fz_write(const char *name, const unsigned char *data, size_t n, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", fz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

#endif
