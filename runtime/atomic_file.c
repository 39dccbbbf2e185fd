/* atomic_file.c — writing a file so that it is replaced whole or not at all,
 * and survives a crash of the machine once written; the advisory lock of a
 * file's writer; removing what killed writers left behind. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"

struct rt_af {
    FILE *f;
    char *path;   /* the target (a symbolic link's target) */
    char *tmp;    /* the temporary file beside it; "" when writing the
                   * target itself (a device, a FIFO) */
    int errnum;   /* the first write error the caller saw (rt_af_error) */
};

/* A malloc'd copy of path's directory ("." for a bare name). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* See atomic_file.h. */
int rt_af_sweep(const char *path, int (*stale)(const char *suffix, void *ctx), void *ctx)
{
    char *dir = dir_of(path);
    const char *base = base_of(path);
    size_t blen = strlen(base);
    DIR *d = dir ? opendir(dir) : NULL;
    int removed = 0;
    if (!d) {
        free(dir);
        return 0;
    }
    size_t dlen = strlen(dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, base, blen) != 0 || !stale(e->d_name + blen, ctx))
            continue;
        char *full = malloc(dlen + strlen(e->d_name) + 2);
        if (!full)
            break;
        memcpy(full, dir, dlen);
        full[dlen] = '/';
        strcpy(full + dlen + 1, e->d_name);
        removed += unlink(full) == 0;
        free(full);
    }
    closedir(d);
    free(dir);
    return removed;
}

/* See atomic_file.h.  A pid reused since is left alone: the file may be
 * that process's, and it is only one file. */
int rt_af_stale_tmp(const char *suffix)
{
    size_t mlen = strlen(RT_AF_TMP_MARK);
    if (strncmp(suffix, RT_AF_TMP_MARK, mlen) != 0)
        return 0;
    const char *s = suffix + mlen;
    char *end;
    errno = 0;
    long pid = strtol(s, &end, 10);
    if (errno || end == s || pid <= 0 || *end != '.' || strlen(end + 1) != 6)
        return 0;
    return (pid_t)pid != getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int stale_tmp(const char *suffix, void *ctx)
{
    return rt_af_stale_tmp(suffix);
}

rt_af *rt_af_begin(const char *path, char *err, size_t errlen)
{
    rt_af *a = calloc(1, sizeof *a);
    size_t plen = path ? strlen(path) : 0;
    if (!path || !*path) {
        free(a);
        rt_errf(err, errlen, "no file name to write");
        return NULL;
    }
    struct stat st;
    if (a && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* /dev/null, /dev/stdout, a FIFO: a stream, not a file to
         * replace (renaming over a device node would remove it). */
        a->path = strdup(path);
        a->tmp = calloc(1, 1);
        if (a->path && a->tmp && !(a->f = fopen(path, "wb"))) {
            rt_errf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
            rt_af_abort(a);
            return NULL;
        }
    } else if (a) {
        /* A symbolic link stays one: its target is what is replaced. */
        char *real = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? realpath(path, NULL) : NULL;
        a->path = real ? real : strdup(path);
        plen = strlen(a->path);
        a->tmp = malloc(plen + sizeof RT_AF_TMP_MARK + 24 + sizeof ".XXXXXX");
    }
    if (!a || !a->path || !a->tmp) {
        rt_af_abort(a);
        rt_errf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (a->f)
        return a;
    rt_af_sweep(a->path, stale_tmp, NULL);
    snprintf(a->tmp, plen + sizeof RT_AF_TMP_MARK + 24 + sizeof ".XXXXXX", "%s" RT_AF_TMP_MARK "%ld.XXXXXX", a->path,
             (long)getpid());
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        rt_errf(err, errlen, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        a->tmp[0] = '\0';
        rt_af_abort(a);
        return NULL;
    }
    /* mkstemp makes the file owner-only; what netc writes is ordinary
     * data, readable as a file fopen creates would be (umask aside). */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    if (!(a->f = fdopen(fd, "wb"))) {
        rt_errf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        rt_af_abort(a);
        return NULL;
    }
    return a;
}

FILE *rt_af_stream(rt_af *a)
{
    return a->f;
}

void rt_af_error(rt_af *a, int errnum)
{
    if (!a->errnum)
        a->errnum = errnum ? errnum : EIO;
}

void rt_af_abort(rt_af *a)
{
    if (!a)
        return;
    if (a->f)
        fclose(a->f);
    if (a->tmp && a->tmp[0])
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    free(a);
}

/* fsync path's directory, so that the rename itself is on the disk.  A
 * file system that cannot sync a directory (EINVAL) has nothing to sync. */
static int sync_dir(const char *path)
{
    char *dir = dir_of(path);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int rt_af_commit(rt_af *a, char *err, size_t errlen)
{
    /* An error during the writes leaves the stream's error flag; flushing
     * again repeats the failing write, which gives its errno. */
    errno = 0;
    int bad = fflush(a->f) != 0, e = errno, direct = !a->tmp[0];
    if (a->errnum)
        bad = 1, e = a->errnum;
    if (!bad && ferror(a->f))
        bad = 1, e = EIO;
    if (!bad && !direct && fsync(fileno(a->f)) != 0)
        bad = 1, e = errno;
    if (fclose(a->f) != 0 && !bad)
        bad = 1, e = errno;
    a->f = NULL;
    if (bad) {
        rt_errf(err, errlen, "%s: write failed: %s%s", a->path, strerror(e ? e : EIO),
                direct ? "" : "; the file is unchanged");
        rt_af_abort(a);
        return -1;
    }
    if (direct) {
        rt_af_abort(a);
        return 0;
    }
    if (rename(a->tmp, a->path) != 0) {
        rt_errf(err, errlen, "%s: cannot replace: %s; the file is unchanged", a->path, strerror(errno));
        rt_af_abort(a);
        return -1;
    }
    a->tmp[0] = '\0';
    int rc = 0;
    if (sync_dir(a->path) != 0)
        rc = rt_errf(err, errlen, "%s: written, but syncing its directory failed: %s", a->path, strerror(errno));
    rt_af_abort(a);
    return rc;
}

int rt_af_write_text(const char *path, const char *text, char *err, size_t errlen)
{
    rt_af *a = rt_af_begin(path, err, errlen);
    if (!a)
        return -1;
    fputs(text, a->f);
    return rt_af_commit(a, err, errlen);
}

int rt_af_lock(const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path) + sizeof ".lock";
    char *lock = malloc(n);
    if (!lock)
        return rt_errf(err, errlen, "%s: out of memory", path);
    snprintf(lock, n, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        rt_errf(err, errlen, "%s: cannot create the lock file %s: %s", path, lock, strerror(errno));
        free(lock);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            rt_errf(err, errlen, "%s: another netc process is writing this file (it holds %s)", path, lock);
        else
            rt_errf(err, errlen, "%s: cannot lock %s: %s", path, lock, strerror(e));
        close(fd);
        free(lock);
        return -1;
    }
    free(lock);
    return fd;
}

void rt_af_unlock(int handle)
{
    if (handle >= 0)
        close(handle);
}
