/* fuzz_spec.c — libFuzzer target: any bytes as a spec, through the whole
 * front end (parse, check, lower), then what `netc explain` prints and what
 * `netc emit` and `netc build` generate.  Errors are fine; a crash, a
 * sanitizer report, a hang or unbounded memory is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/emit.h"
#include "compiler/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    gram_source *src = gram_source_from_string("fuzz.net", "");
    if (!src)
        return 0;
    /* The bytes as they are, NULs included, as gram_source_open reads them. */
    char *text = malloc(size + 1);
    if (!text) {
        gram_source_free(src);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = 0;
    free(src->text);
    src->text = text;
    src->len = size;
    src->out = sink;
    comp_plan *p = comp_compile(src);
    if (p) {
        comp_plan_dump(p, 3, sink);
        comp_emit_opts o = {0};
        o.spec_path = "fuzz.net";
        o.train = p->model->has_train;
        o.predict_batch = 2;
        comp_emit(p, &o, sink, sink);
        comp_emit_program(p, "fuzz.net", src->text, sink);
    }
    comp_plan_destroy(p);
    gram_source_free(src);
    return 0;
}
