/* blas.c — OpenBLAS, loaded on first use with the GEMM kernel set chosen
 * for this CPU.
 *
 * Why load it at run time instead of linking it: OpenBLAS picks its kernel
 * set ("core") in a constructor that runs before main, from the CPU or
 * from OPENBLAS_CORETYPE, and Debian's 0.3.21 misreads newer CPUs (on an
 * AVX-512 Zen 5 it can take the AVX2 "Haswell" kernels at half speed).
 * Loading it ourselves lets netc decide from the CPU's own feature flags
 * and set OPENBLAS_CORETYPE first, and it keeps `netc check`/`explain`,
 * which multiply no matrices, from paying OpenBLAS's start-up. */
#define _GNU_SOURCE /* RTLD_DEFAULT is not POSIX */
#include "blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef void sgemm_fn(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc);
typedef float sdot_fn(int n, const float *x, int incx, const float *y, int incy);
typedef void set_threads_fn(int n);
typedef char *info_fn(void);

static struct {
    int loaded;
    sgemm_fn *sgemm;
    sdot_fn *sdot;
    info_fn *corename;
    char chosen[32];       /* the core netc asked for, "" to let OpenBLAS decide */
    char reason[160];      /* why, for explain and bench */
} blas;

/* The strongest OpenBLAS x86-64 core this CPU (and its OS, which must save
 * the wider registers: __builtin_cpu_supports checks that) can run.
 * SGEMM is the same code in the cores between these, so three steps
 * suffice.  NULL: not x86-64, or too old to matter; OpenBLAS decides. */
static const char *core_for_cpu(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    if (__builtin_cpu_supports("avx"))
        return "SandyBridge";
#endif
    return NULL;
}

/* Decides the core and writes OPENBLAS_CORETYPE before the library's
 * constructor reads it.  NETC_BLAS_CORE names a core outright (any name
 * OpenBLAS knows; "auto" leaves the choice to OpenBLAS).  Otherwise the CPU
 * decides, over an OPENBLAS_CORETYPE already in the environment: that
 * variable is the usual workaround for the misdetection above, often left
 * set on machines it no longer fits, and the reason string says when it was
 * overruled. */
static void choose_core(void)
{
    if (blas.reason[0])
        return;
    const char *forced = getenv("NETC_BLAS_CORE");
    const char *prior = getenv("OPENBLAS_CORETYPE");
    const char *core = NULL;
    if (forced && *forced) {
        if (strcmp(forced, "auto") != 0)
            core = forced;
        /* Only OpenBLAS knows its core names, and explain does not load it
         * (load() settles the reason once it has). */
        snprintf(blas.reason, sizeof blas.reason, "NETC_BLAS_CORE=%s%s", forced,
                 core ? ", if this OpenBLAS has that core: it is checked when loaded" : "");
    } else if ((core = core_for_cpu()) != NULL) {
        if (prior && *prior && strcmp(prior, core) != 0)
            snprintf(blas.reason, sizeof blas.reason,
                     "chosen by netc from the CPU's features, over OPENBLAS_CORETYPE=%s; NETC_BLAS_CORE overrides",
                     prior);
        else
            snprintf(blas.reason, sizeof blas.reason,
                     "chosen by netc from the CPU's features; NETC_BLAS_CORE overrides");
    } else {
        snprintf(blas.reason, sizeof blas.reason, "chosen by OpenBLAS%s%s", prior && *prior ? " from OPENBLAS_CORETYPE=" : "",
                 prior && *prior ? prior : "");
    }
    snprintf(blas.chosen, sizeof blas.chosen, "%s", core ? core : "");
}

const char *rt_blas_choice(const char **reason)
{
    choose_core();
    if (reason)
        *reason = blas.reason;
    return blas.chosen[0] ? blas.chosen : "OpenBLAS's own choice";
}

/* The library's names, tried in order: Debian's runtime package, then the
 * development link. */
static const char *const lib_names[] = {"libopenblas.so.0", "libopenblas.so"};

/* The one load (load_once, under pthread_once: the first product may be
 * asked for by two worker threads at once), its status and message. */
static pthread_once_t load_control = PTHREAD_ONCE_INIT;
static int load_status;
static char load_err[512];

static int load(char *err, size_t errlen)
{
    /* A program that linked OpenBLAS itself (a test harness, an embedder)
     * already has it: use that copy, whatever core it chose. */
    void *h = RTLD_DEFAULT;
    if (!dlsym(h, "cblas_sgemm")) {
        choose_core();
        if (blas.chosen[0])
            setenv("OPENBLAS_CORETYPE", blas.chosen, 1);
        /* netc runs its own threads (runtime/pool.c) and calls OpenBLAS
         * single-threaded from each, so OpenBLAS starts none of its own. */
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        const char *tried = NULL;
        h = NULL;
        for (size_t i = 0; i < sizeof lib_names / sizeof *lib_names && !h; i++)
            h = dlopen(tried = lib_names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            snprintf(err, errlen, "cannot load OpenBLAS (%s): %s; install libopenblas0 (Debian) or equivalent",
                     tried, dlerror());
            return -1;
        }
    } else {
        snprintf(blas.reason, sizeof blas.reason, "linked into the program; its own choice");
    }
    blas.sgemm = (sgemm_fn *)dlsym(h, "cblas_sgemm");
    blas.sdot = (sdot_fn *)dlsym(h, "cblas_sdot");
    blas.corename = (info_fn *)dlsym(h, "openblas_get_corename");
    set_threads_fn *set_threads = (set_threads_fn *)dlsym(h, "openblas_set_num_threads");
    if (!blas.sgemm || !blas.sdot) {
        snprintf(err, errlen, "the OpenBLAS library found lacks cblas_sgemm/cblas_sdot");
        return -1;
    }
    if (set_threads)
        set_threads(1);
    /* OpenBLAS ignores a core name it does not know and detects one
     * itself: say so rather than let the reason claim the request held. */
    const char *forced = getenv("NETC_BLAS_CORE");
    if (blas.chosen[0] && blas.corename && strcasecmp(blas.corename(), blas.chosen) != 0)
        snprintf(blas.reason, sizeof blas.reason, "%s%s is not a core this OpenBLAS knows; it detected its own",
                 forced ? "NETC_BLAS_CORE=" : "netc's choice ", blas.chosen);
    else if (blas.chosen[0] && forced && *forced)
        snprintf(blas.reason, sizeof blas.reason, "NETC_BLAS_CORE=%s", forced);
    blas.loaded = 1;
    return 0;
}

static void load_once(void)
{
    load_status = load(load_err, sizeof load_err);
}

int rt_blas_load(char *err, size_t errlen)
{
    pthread_once(&load_control, load_once);
    if (load_status != 0)
        snprintf(err, errlen, "%s", load_err);
    return load_status;
}

/* The kernels call through here; a program that never called rt_blas_load
 * (a unit test, an embedder) gets the library on its first product. */
static void need_blas(void)
{
    char err[512];
    if (rt_blas_load(err, sizeof err) != 0) {
        fprintf(stderr, "netc: error: %s\n", err);
        exit(1);
    }
}

void rt_blas_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                   int ldc)
{
    need_blas();
    /* 101 = CblasRowMajor, 111/112 = CblasNoTrans/CblasTrans. */
    blas.sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

float rt_blas_sdot(size_t n, const float *x, const float *y)
{
    need_blas();
    return blas.sdot((int)n, x, 1, y, 1);
}

const char *rt_blas_core(void)
{
    return blas.loaded && blas.corename ? blas.corename() : "not loaded";
}

const char *rt_blas_reason(void)
{
    return blas.reason;
}
