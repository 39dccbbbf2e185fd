/* svg.h — a small line plot written as a self-contained SVG file: axes
 * with ticks and labels, one polyline per series, a legend. */
#ifndef NETC_COMPILER_SVG_H
#define NETC_COMPILER_SVG_H

#include <stdio.h>

typedef struct {
    const char *title, *xlabel, *ylabel;
    int nseries;
    const char *const *names;  /* nseries legend entries */
    const double *values;      /* nseries rows of npoints: series s, point i at values[s * npoints + i] */
    int npoints;               /* x of point i is i + 1 (an epoch number) */
} comp_plot;

/* Whether pl's y axis is logarithmic: its finite values are all above 0
 * and the highest is more than ten times the lowest (a curve that climbs
 * to 23 would flatten the others, near 0.01, into the axis). */
int comp_svg_uses_log(const comp_plot *pl);

/* Write plot pl to out as SVG 1.1.  On a linear axis (see
 * comp_svg_uses_log) y runs from 0 (or the lowest value, if negative) to
 * the highest finite value, rounded out to tick steps of 1, 2 or 5 times
 * a power of ten; on a log axis from the decade below the lowest value to
 * the decade above the highest, a tick per decade, and the axis label says
 * "(log scale)".  A series stops at its first non-finite value.  Text is
 * XML-escaped.  Returns 0, or -1 when writing failed. */
int comp_svg_plot(FILE *out, const comp_plot *pl);

/* Write pl to f, opened for writing as path, and close f.  Returns 0, or
 * -1 after saying "netc CMD: error writing 'PATH'". */
int comp_svg_write(FILE *f, const char *path, const comp_plot *pl, const char *cmd);

#endif
