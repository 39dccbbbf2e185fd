/* test_svg.c — the plots of compare --plot and train --plot: the cost
 * axis turns logarithmic when the curves span more than a decade, and
 * then places values by their logarithm; otherwise it stays linear from 0. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "compiler/svg.h"

/* The SVG of a plot of series rows of n points, in a malloc'd string. */
static char *render(const double *values, int nseries, int n)
{
    static const char *const names[] = {"a", "b", "c"};
    comp_plot pl = {"t", "epoch", "cost", nseries, names, values, n};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(comp_svg_plot(f, &pl), 0);
    fclose(f);
    return buf;
}

/* The y coordinates of the i-th polyline's points. */
static int polyline_y(const char *svg, int which, double *y, int max)
{
    const char *p = svg;
    for (int k = 0; k <= which; k++) {
        p = strstr(p, "<polyline");
        ck_assert_ptr_nonnull(p);
        p++;
    }
    p = strstr(p, "points=\"") + 8;
    int n = 0;
    double x;
    int used;
    while (n < max && sscanf(p, "%lf,%lf%n", &x, &y[n], &used) == 2) {
        n++;
        p += used;
    }
    return n;
}

START_TEST(test_log_axis_over_a_decade)
{
    /* Rprop's climb to 23 beside curves near 0.01: three decades and more. */
    const double v[] = {2.0, 0.5, 0.1, 0.05, 0.01, 2.0, 5.0, 23.0, 20.0, 21.0};
    comp_plot pl = {"t", "epoch", "cost", 2, NULL, v, 5};
    ck_assert(comp_svg_uses_log(&pl));
    char *svg = render(v, 2, 5);
    ck_assert_ptr_nonnull(strstr(svg, "cost (log scale)</text>"));
    /* a tick per decade, labelled with the values, from 0.01 to 100 */
    ck_assert_ptr_nonnull(strstr(svg, ">0.01</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">0.1</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">1</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">10</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">100</text>"));
    /* equal ratios are equal distances: 0.1 -> 0.01 spans what 0.5 -> 0.05 does */
    double y[5];
    ck_assert_int_eq(polyline_y(svg, 0, y, 5), 5);
    ck_assert_msg(fabs((y[4] - y[2]) - (y[3] - y[1])) < 0.15, "log spacing %g vs %g", y[4] - y[2], y[3] - y[1]);
    ck_assert(y[4] > y[2] && y[2] > y[0]); /* lower cost, lower on the plot (larger y) */
    free(svg);
}
END_TEST

START_TEST(test_linear_axis_within_a_decade)
{
    const double v[] = {2.0, 1.5, 1.0, 0.5, 0.3};
    comp_plot pl = {"t", "epoch", "cost", 1, NULL, v, 5};
    ck_assert(!comp_svg_uses_log(&pl));
    char *svg = render(v, 1, 5);
    ck_assert_ptr_null(strstr(svg, "log scale"));
    ck_assert_ptr_nonnull(strstr(svg, ">0</text>")); /* from 0 */
    double y[5];
    ck_assert_int_eq(polyline_y(svg, 0, y, 5), 5);
    /* equal differences are equal distances */
    ck_assert_msg(fabs((y[1] - y[0]) - (y[2] - y[1])) < 0.15, "linear spacing");
    free(svg);
    /* a zero or negative value cannot go on a log axis */
    const double z[] = {0.0, 5.0, 100.0};
    comp_plot pz = {"t", "epoch", "cost", 1, NULL, z, 3};
    ck_assert(!comp_svg_uses_log(&pz));
    /* NaN ends a curve and does not count */
    const double q[] = {1.0, 2.0, NAN, 3.0};
    comp_plot pq = {"t", "epoch", "cost", 1, NULL, q, 4};
    ck_assert(!comp_svg_uses_log(&pq));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("svg");
    TCase *tc = tcase_create("svg");
    tcase_add_test(tc, test_log_axis_over_a_decade);
    tcase_add_test(tc, test_linear_axis_within_a_decade);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
