/* regular_file.c — see regular_file.h. */
#include "regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"

/* What st is, when it is not a regular file, for the message. */
static const char *kind(const struct stat *st)
{
    if (S_ISDIR(st->st_mode))
        return "a directory";
    if (S_ISFIFO(st->st_mode))
        return "a FIFO";
    if (S_ISCHR(st->st_mode))
        return "a character device";
    if (S_ISBLK(st->st_mode))
        return "a block device";
    if (S_ISSOCK(st->st_mode))
        return "a socket";
    return "not a file";
}

int rt_open_regular(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rt_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rt_errf(err, errlen, "%s: cannot open: not a regular file (%s)", path, kind(&st));
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return rt_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    int flags;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (flags = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        const int e = errno;
        const int reg = S_ISREG(st.st_mode);
        close(fd);
        return reg ? rt_errf(err, errlen, "%s: cannot open: %s", path, strerror(e))
                   : rt_errf(err, errlen, "%s: cannot open: not a regular file (%s)", path, kind(&st));
    }
    return fd;
}

FILE *rt_fopen_regular(const char *path, char *err, size_t errlen)
{
    int fd = rt_open_regular(path, err, errlen);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        rt_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}
