/* compile.c — the front end in one call, for the driver and the tests. */
#include "plan.h"

comp_plan *comp_compile(gram_source *src)
{
    gram_spec *spec = gram_parse(src);
    if (!spec)
        return NULL;
    comp_model *m = comp_check(spec); /* owns spec from here, also on failure */
    if (!m)
        return NULL;
    comp_plan *p = comp_lower(m);
    if (!p)
        comp_model_free(m);
    return p;
}

void comp_plan_destroy(comp_plan *p)
{
    if (!p)
        return;
    comp_model *m = (comp_model *)p->model;
    comp_plan_free(p);
    comp_model_free(m);
}
