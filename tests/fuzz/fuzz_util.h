/* fuzz_util.h — shared by the libFuzzer targets (header-only): the loaders
 * read files, so each target writes its input into a scratch directory of
 * its own, made once per process, reused, and removed at exit. */
#ifndef NETC_FUZZ_UTIL_H
#define NETC_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The files written into the scratch directory, removed with it at exit. */
static char fz_files[8][64];

static inline void fz_cleanup(void);

/* The process's scratch directory (under $TMPDIR or /tmp), removed with
 * what fz_write put there when the process exits. */
static inline const char *fz_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/netc-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
            abort();
        atexit(fz_cleanup);
    }
    return dir;
}

static inline void fz_cleanup(void)
{
    char path[1024];
    for (size_t i = 0; i < sizeof fz_files / sizeof *fz_files && fz_files[i][0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fz_dir(), fz_files[i]);
        unlink(path);
    }
    rmdir(fz_dir());
}

/* Write n bytes to dir/name (replacing it); the full path goes to path. */
static inline void fz_write(const char *name, const unsigned char *data, size_t n, char *path, size_t size)
{
    size_t i = 0;
    while (i < sizeof fz_files / sizeof *fz_files && fz_files[i][0] && strcmp(fz_files[i], name) != 0)
        i++;
    if (i == sizeof fz_files / sizeof *fz_files || strlen(name) >= sizeof fz_files[0])
        abort();
    snprintf(fz_files[i], sizeof fz_files[i], "%s", name);
    snprintf(path, size, "%s/%s", fz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

#endif
