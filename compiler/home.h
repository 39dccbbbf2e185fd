/* home.h — where the library and headers that `netc build` programs
 * compile against live: a source tree with netc built in it, or an
 * installed prefix (`make install`). */
#ifndef NETC_COMPILER_HOME_H
#define NETC_COMPILER_HOME_H

#include <stddef.h>

typedef struct {
    char lib[4200];      /* libnetc.a */
    char inc[3][4200];   /* the -I directories, in order; empty strings unused */
} comp_home;

/* Find netc's library and headers: under $NETC_HOME when set, else next
 * to the running executable.  A directory D is a source tree when
 * D/build/libnetc.a exists (headers D, D/grammar, D/build/grammar), or a
 * prefix when D/lib/netc/libnetc.a exists (headers D/include/netc and
 * D/include/netc/grammar); for the executable, D is its directory (a
 * build in a clone) or that directory's parent (PREFIX/bin/netc), so an
 * installed netc works wherever the prefix is, staged under DESTDIR or
 * not, and with the source tree gone.  Returns 0, or -1 with what is
 * missing in err. */
int comp_find_home(comp_home *h, char *err, size_t errlen);

#endif
