/* openblas_info.c — print the OpenBLAS build and the kernel set (core) it
 * picked for this CPU, for bench/run.sh.  Linked the way netc is linked. */
#include <cblas.h>
#include <stdio.h>

int main(void)
{
    static const char *par[] = {"sequential", "pthreads", "OpenMP"};
    int p = openblas_get_parallel();
    printf("core %s; %s build; %s\n", openblas_get_corename(), p >= 0 && p <= 2 ? par[p] : "?",
           openblas_get_config());
    return 0;
}
