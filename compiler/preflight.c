/* preflight.c — see preflight.h. */
#include "preflight.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/net.h"

int comp_preflight_output(const char *cmd, const char *opt, const char *path, int regular_only)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode) || (regular_only && !S_ISREG(st.st_mode))) {
            fprintf(stderr, "netc %s: %s '%s': %s\n", cmd, opt, path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
            return -1;
        }
        if (access(path, W_OK) != 0) {
            fprintf(stderr, "netc %s: %s '%s': cannot write: %s\n", cmd, opt, path, strerror(errno));
            return -1;
        }
    } else if (errno != ENOENT) {
        fprintf(stderr, "netc %s: %s '%s': %s\n", cmd, opt, path, strerror(errno));
        return -1;
    }
    /* The directory: everything up to the last slash ("/" itself when
     * that is the first character), "." without one. */
    const char *slash = strrchr(path, '/');
    const size_t len = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    char *dir = malloc(len + 1);
    if (!dir) {
        fprintf(stderr, "netc %s: out of memory\n", cmd);
        return -1;
    }
    memcpy(dir, slash ? path : ".", len);
    dir[len] = '\0';
    int rc = 0;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "netc %s: %s '%s': directory '%s' %s\n", cmd, opt, path, dir,
                errno == ENOENT ? "does not exist" : strerror(errno));
        rc = -1;
    } else if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "netc %s: %s '%s': '%s' is not a directory\n", cmd, opt, path, dir);
        rc = -1;
    } else if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "netc %s: %s '%s': cannot create files in directory '%s': %s\n", cmd, opt, path, dir,
                strerror(errno));
        rc = -1;
    }
    free(dir);
    return rc;
}

int comp_preflight_memory(const char *cmd, const comp_plan *p, int batch, int inference)
{
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return 0;
    const double have = (double)pages * (double)page, need = rt_net_bytes(p, batch, inference);
    if (need <= have)
        return 0;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    fprintf(stderr, "netc %s: the model's buffers need %.1f GiB at batch %d, more than the %.1f GiB of memory this "
                    "machine has ('netc explain --batch %d' lists them)\n",
            cmd, need / gib, batch, have / gib, batch);
    return -1;
}
