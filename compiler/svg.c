/* svg.c — line plots as SVG, for `netc compare --plot`. */
#include "svg.h"

#include <math.h>
#include <string.h>

/* Plot area inside a fixed canvas; the legend sits right of the plot. */
enum { HEIGHT = 420, LEFT = 70, RIGHT = 520, TOP = 40, BOTTOM = 360 };

/* Distinct colours (Tableau 10); past ten, series repeat them dashed. */
static const char *const colours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NCOLOURS (int)(sizeof colours / sizeof *colours)

static void text(FILE *out, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
}

/* A tick step of 1, 2 or 5 times a power of ten giving about 5 ticks. */
static double nice_step(double span)
{
    double raw = span / 5.0, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

int comp_svg_uses_log(const comp_plot *pl)
{
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < pl->nseries * pl->npoints; i++) {
        double v = pl->values[i];
        if (!isfinite(v))
            continue;
        if (v <= 0)
            return 0;
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    return hi > 10 * lo;
}

int comp_svg_plot(FILE *out, const comp_plot *pl)
{
    double lo = 0, hi = 0;
    int any = 0;
    const int logy = comp_svg_uses_log(pl);
    for (int i = 0; i < pl->nseries * pl->npoints; i++)
        if (isfinite(pl->values[i])) {
            double v = logy ? log10(pl->values[i]) : pl->values[i];
            if (!any || v > hi)
                hi = v;
            if (!any || v < lo)
                lo = v;
            any = 1;
        }
    if (!logy && lo > 0)
        lo = 0; /* a linear axis starts at 0 */
    if (hi <= lo)
        hi = lo + 1;
    /* A log axis has a tick per decade (log10 steps of 1). */
    double ystep = logy ? 1.0 : nice_step(hi - lo);
    lo = floor(lo / ystep) * ystep;
    hi = ceil(hi / ystep) * ystep;
    int n = pl->npoints;
    size_t longest = 0; /* the canvas widens to fit the legend at about 7 px a character */
    for (int s = 0; s < pl->nseries; s++)
        if (strlen(pl->names[s]) > longest)
            longest = strlen(pl->names[s]);
    const int WIDTH = RIGHT + 60 + 7 * (int)(longest > 10 ? longest : 10);
    double xstep = n <= 10 ? 1 : ceil(nice_step(n - 1));
    double xlo = 1, xhi = n > 1 ? n : 2;
#define PX(x) (LEFT + ((x) - xlo) / (xhi - xlo) * (RIGHT - LEFT))
#define PY(y) (BOTTOM - ((y) - lo) / (hi - lo) * (BOTTOM - TOP))
#define VY(v) PY(logy ? log10(v) : (v))

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
                 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT);
    fprintf(out, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">", (LEFT + RIGHT) / 2);
    text(out, pl->title);
    fputs("</text>\n", out);

    /* Grid and ticks. */
    fputs("<g stroke=\"#dddddd\">\n", out);
    int ny = (int)lround((hi - lo) / ystep), nx = (int)floor(xhi / xstep + 1e-9);
    for (int k = 0; k <= ny; k++)
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", LEFT, PY(lo + k * ystep), RIGHT,
                PY(lo + k * ystep));
    fputs("</g>\n<g text-anchor=\"end\">\n", out);
    for (int k = 0; k <= ny; k++) {
        double y = lo + k * ystep;
        /* the log axis is labelled with the values, 0.01 0.1 1 10 */
        double label = logy ? pow(10.0, y) : fabs(y) < ystep / 1e6 ? 0.0 : y;
        fprintf(out, "<text x=\"%d\" y=\"%.1f\">%g</text>\n", LEFT - 6, PY(y) + 4, label);
    }
    fputs("</g>\n<g text-anchor=\"middle\">\n", out);
    for (int k = 0; k <= nx; k++) {
        double x = k == 0 ? xlo : k * xstep; /* 1, then the multiples of the step */
        if (k == 1 && x == xlo)
            continue;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/><text x=\"%.1f\" y=\"%d\">%g</text>\n",
                PX(x), BOTTOM, PX(x), BOTTOM + 5, PX(x), BOTTOM + 18, x);
    }
    fputs("</g>\n", out);

    /* Axes and their labels. */
    fprintf(out, "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"black\"/>\n", LEFT, TOP, BOTTOM, RIGHT);
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (LEFT + RIGHT) / 2, BOTTOM + 38);
    text(out, pl->xlabel);
    fprintf(out, "</text>\n<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">",
            (TOP + BOTTOM) / 2, (TOP + BOTTOM) / 2);
    text(out, pl->ylabel);
    fputs(logy ? " (log scale)</text>\n" : "</text>\n", out);

    /* One polyline per series, then the legend. */
    for (int s = 0; s < pl->nseries; s++) {
        const double *v = pl->values + (size_t)s * (size_t)n;
        fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colours[s % NCOLOURS],
                s >= NCOLOURS ? " stroke-dasharray=\"6 3\"" : "");
        for (int i = 0; i < n && isfinite(v[i]); i++)
            fprintf(out, "%s%.1f,%.1f", i ? " " : "", PX(i + 1.0), VY(v[i]));
        fputs("\"/>\n", out);
    }
    for (int s = 0; s < pl->nseries; s++) {
        int y = TOP + 10 + 20 * s;
        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>",
                RIGHT + 20, y, RIGHT + 44, y, colours[s % NCOLOURS], s >= NCOLOURS ? " stroke-dasharray=\"6 3\"" : "");
        fprintf(out, "<text x=\"%d\" y=\"%d\">", RIGHT + 50, y + 4);
        text(out, pl->names[s]);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
#undef PX
#undef PY
#undef VY
    return ferror(out) ? -1 : 0;
}

int comp_svg_write(FILE *f, const char *path, const comp_plot *pl, const char *cmd)
{
    int bad = comp_svg_plot(f, pl) != 0;
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "netc %s: error writing '%s'\n", cmd, path);
        return -1;
    }
    return 0;
}
