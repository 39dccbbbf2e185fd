/* fuzz_csv.c — libFuzzer target: any bytes as a CSV data file, loaded as
 * `netc train --data FILE.csv` loads it, for a class target (3 inputs, 4
 * classes), value targets (2 + 3 columns) and predict's inputs only. */
#include <stdint.h>
#include <stdio.h>

#include "runtime/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[1024], err[512];
    fz_write("data.csv", data, size, path, sizeof path);
    static const struct {
        rt_target_kind kind;
        size_t ntarget;
        int nclasses;
    } as[] = {{RT_TARGET_CLASS, 1, 4}, {RT_TARGET_VALUES, 2, 0}, {RT_TARGET_NONE, 0, 0}};
    for (size_t i = 0; i < sizeof as / sizeof *as; i++) {
        rt_dataset ds;
        if (rt_data_load(path, RT_SPLIT_TRAIN, 3, as[i].kind, as[i].ntarget, as[i].nclasses, &ds, err, sizeof err) == 0)
            rt_data_free(&ds);
    }
    return 0;
}
