/* fuzz_idx.c — libFuzzer target: any bytes as an IDX directory's images
 * and labels files (gzipped or not), loaded as `netc train --data DIR`
 * loads them.  The first two bytes (little-endian) say how many of the
 * rest are the images file; the others are the labels file.  2x2 images,
 * 10 classes. */
#include <stdint.h>
#include <stdio.h>

#include "runtime/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (split > size)
        split = size;
    char path[1024], err[512];
    fz_write("train-images-idx3-ubyte", data, split, path, sizeof path);
    fz_write("train-labels-idx1-ubyte", data + split, size - split, path, sizeof path);
    rt_dataset ds;
    if (rt_data_load(fz_dir(), RT_SPLIT_TRAIN, 4, RT_TARGET_CLASS, 1, 10, &ds, err, sizeof err) == 0)
        rt_data_free(&ds);
    return 0;
}
