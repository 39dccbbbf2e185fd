/* fmt_file.c — formatting a spec file in place. */
#include "fmt_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../grammar/fmt.h"

/* Write text to a temporary file beside path and rename it over path. */
static int replace_file(const char *path, const char *text, size_t len)
{
    struct stat st;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp || stat(path, &st) != 0) {
        fprintf(stderr, "netc fmt: cannot write '%s': %s\n", path, tmp ? strerror(errno) : "out of memory");
        free(tmp);
        return 1;
    }
    snprintf(tmp, plen + 16, "%s.fmt-XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "netc fmt: cannot write beside '%s': %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return 1;
    }
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fchmod(fd, st.st_mode & 07777) != 0;
    bad |= fflush(f) != 0 || fsync(fd) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "netc fmt: cannot write '%s': %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return 1;
    }
    free(tmp);
    return 0;
}

int comp_fmt_file(const char *path, int check)
{
    gram_source *src = gram_source_open(path);
    if (!src) {
        fprintf(stderr, "netc fmt: cannot read '%s': %s\n", path, strerror(errno));
        return 1;
    }
    size_t len;
    char *out = gram_format(src, &len);
    int status;
    if (!out) {
        if (src->nerrors == 0)
            fprintf(stderr, "netc fmt: out of memory formatting '%s'\n", path);
        status = 1;
    } else if (len == src->len && memcmp(out, src->text, len) == 0) {
        status = 0;
    } else if (check) {
        printf("%s\n", path);
        status = 3;
    } else {
        status = replace_file(path, out, len);
    }
    free(out);
    gram_source_free(src);
    return status;
}
