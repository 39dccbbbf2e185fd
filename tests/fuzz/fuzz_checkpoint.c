/* fuzz_checkpoint.c — libFuzzer target: any bytes as a checkpoint of a
 * small model with parameters, running statistics and optimizer state,
 * loaded as `netc eval --weights` loads it and resumed as `netc train
 * --weights` does.  A refusal is fine; a crash or sanitizer report is a
 * bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "compiler/plan.h"
#include "runtime/checkpoint.h"
#include "runtime/net.h"
#include "fuzz_util.h"

/* The model of tests/fuzz/corpus/checkpoint's seeds (fz_trained.st:
 * `netc train` of this spec, 2 epochs on a 4-row CSV, --save). */
static const char spec[] = "model fz {\n"
                           "    input 4\n"
                           "    layers Linear(4, 3) -> BatchNorm1d(3) -> ReLU -> Linear(3, 2)\n"
                           "    loss CrossEntropy\n"
                           "    optimizer Adam(lr=0.01)\n"
                           "    schedule StepLR(step_size=1)\n"
                           "    train epochs=1 batch=2 seed=1\n"
                           "}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static comp_plan *plan;
    if (!plan) {
        gram_source *src = gram_source_from_string("fz.net", spec);
        if (!src || !(plan = comp_compile(src)))
            abort();
    }
    char path[1024], err[512], note[512];
    fz_write("ck.safetensors", data, size, path, sizeof path);
    rt_net *net = rt_net_new(plan, 2);
    if (!net)
        abort();
    rt_checkpoint_load(net, path, 0, note, sizeof note, err, sizeof err);
    rt_checkpoint_resume(net, path, 0, note, sizeof note, err, sizeof err);
    rt_net_free(net);
    return 0;
}
