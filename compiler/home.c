/* home.c — finding the library and headers of `netc build` programs. */
#include "home.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Fill h from directory d when it is a source tree or a prefix. */
static int try_dir(comp_home *h, const char *d)
{
    memset(h, 0, sizeof *h);
    snprintf(h->lib, sizeof h->lib, "%s/build/libnetc.a", d);
    if (readable(h->lib)) {
        snprintf(h->inc[0], sizeof h->inc[0], "%s", d);
        snprintf(h->inc[1], sizeof h->inc[1], "%s/grammar", d);
        snprintf(h->inc[2], sizeof h->inc[2], "%s/build/grammar", d);
        return 1;
    }
    snprintf(h->lib, sizeof h->lib, "%s/lib/netc/libnetc.a", d);
    if (readable(h->lib)) {
        snprintf(h->inc[0], sizeof h->inc[0], "%s/include/netc", d);
        snprintf(h->inc[1], sizeof h->inc[1], "%s/include/netc/grammar", d);
        return 1;
    }
    return 0;
}

int comp_find_home(comp_home *h, char *err, size_t errlen)
{
    const char *env = getenv("NETC_HOME");
    if (env && *env) {
        if (try_dir(h, env))
            return 0;
        snprintf(err, errlen, "NETC_HOME=%s holds neither build/libnetc.a (a netc tree after 'make') nor "
                              "lib/netc/libnetc.a (a prefix netc was installed into)", env);
        return -1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find the netc executable's directory; set NETC_HOME");
        return -1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    if (try_dir(h, exe))
        return 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", exe);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (try_dir(h, slash == dir ? "/" : dir)) /* PREFIX/bin/netc */
        return 0;
    snprintf(err, errlen, "netc's library is missing: neither %s/build/libnetc.a (run 'make' in the netc tree) "
                          "nor %s/lib/netc/libnetc.a ('make install'); or set NETC_HOME to either directory",
             exe, dir);
    return -1;
}
