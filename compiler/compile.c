/* compile.c — the front end in one call, for the driver and the tests. */
#include "plan.h"

comp_plan *comp_compile(gram_source *src)
{
    gram_spec *spec = gram_parse(src);
    if (!spec)
        return NULL;
    comp_model *m = comp_check(spec); /* owns spec from here, also on failure */
    comp_plan *p = m ? comp_lower(m) : NULL;
    if (m && !p)
        comp_model_free(m);
    /* The count of what the error limit held back closes the list. */
    gram_diag_summary(src);
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
