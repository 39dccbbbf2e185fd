/* test_checkpoint.c — the checkpoint pair: the file --save names is a
 * torch state_dict (the keys and shapes of one torch wrote,
 * scripts/gen_golden_ckpt.py, tests/golden/ckpt/), a torch state_dict
 * loads by names and shapes, every metadata value is range-checked, a
 * checkpoint of another model is refused unless forced, the companion
 * must be of the same pair, and the writer removes what killed writers
 * left and refuses a second writer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "compiler/plan.h"
#include "runtime/atomic_file.h"
#include "runtime/checkpoint.h"
#include "runtime/net.h"
#include "runtime/safetensors.h"
#include "runtime/st_internal.h" /* a file's metadata, to copy it whole */
#include "runtime/train.h"

#define TORCH_STATE "tests/golden/ckpt/torch_state.safetensors"

/* The spec the golden state_dict is of, with the state a resume restores. */
static const char spec[] = "model ck { input (1, 6, 6) layers Conv2d(1, 2, 3) -> BatchNorm2d(2) -> ReLU -> Flatten"
                           " -> Linear(32, 3) loss CrossEntropy optimizer Adam(lr=0.01)"
                           " schedule StepLR(step_size=1, gamma=0.5) train epochs=2 batch=4 shuffle=true seed=3 }";
/* Another model with the same tensors: Tanh for ReLU. */
static const char spec_tanh[] = "model ck { input (1, 6, 6) layers Conv2d(1, 2, 3) -> BatchNorm2d(2) -> Tanh -> Flatten"
                                " -> Linear(32, 3) loss CrossEntropy optimizer Adam(lr=0.01)"
                                " schedule StepLR(step_size=1, gamma=0.5) train epochs=2 batch=4 shuffle=true seed=3 }";

static rt_st_file *load(const char *path)
{
    char err[512];
    rt_st_file *f = rt_st_load(path, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    return f;
}

/* A net of p trained for two epochs on 16 fixed samples, so that every
 * part of the training state has moved. */
static rt_net *trained_net(comp_plan *p)
{
    static float x[16 * 36];
    static int32_t y[16];
    for (int i = 0; i < 16 * 36; i++)
        x[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
    for (int i = 0; i < 16; i++)
        y[i] = i % 3;
    rt_dataset ds = {.n = 16, .dim = 36, .xf = x, .labels = y};
    rt_net *net = rt_net_new(p, p->model->batch);
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(rt_net_init_params(net, 3), 0);
    rt_train_opts o = {.epochs = 2, .shuffle = 1, .seed = 3};
    ck_assert_int_eq(rt_train(net, &ds, &o), 0);
    return net;
}

/* A fresh scratch directory dir and the path of a file name in it. */
static void scratch(char dir[256], char path[300], const char *name)
{
    tu_mkdtemp(dir, 256, "ckpt");
    snprintf(path, 300, "%s/%s", dir, name);
}

/* A net of p trained as trained_net and saved to the pair at path in a
 * fresh scratch directory dir. */
static rt_net *saved_net(comp_plan *p, char dir[256], char path[300])
{
    char err[512];
    rt_net *net = trained_net(p);
    scratch(dir, path, "ck.safetensors");
    ck_assert_msg(rt_checkpoint_save(net, path, err, sizeof err) == 0, "%s", err);
    return net;
}

/* The companion of the pair at path. */
static void companion_of(const char *path, char *out, size_t size)
{
    rt_st_file *f = load(path);
    uint64_t id = strtoull(rt_st_meta(f, "netc.pair"), NULL, 16);
    ck_assert_int_eq(rt_checkpoint_companion(path, id, out, size), 0);
    rt_st_free(f);
}

/* A torch state_dict (no netc metadata, num_batches_tracked as int64)
 * loads by names and shapes, the values exactly; resuming from it gives
 * the weights only, and says so. */
START_TEST(torch_state_dict_loads)
{
    comp_plan *p = tu_compile_text(spec);
    rt_net *net = rt_net_new(p, 4);
    char note[512], err[512];
    ck_assert_msg(rt_checkpoint_load(net, TORCH_STATE, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(note, "");
    rt_st_file *g = load(TORCH_STATE);
    ck_assert_ptr_null(rt_st_meta(g, "netc.model"));
    for (int i = 0; i < rt_st_count(g); i++) {
        const rt_tensor *t = rt_st_tensor(g, i);
        int b = comp_plan_find_buf(p, t->name);
        ck_assert_msg(b >= 0, "no buffer %s", t->name);
        ck_assert_mem_eq(rt_net_buf(net, b), t->data, p->bufs[b].size * sizeof(float));
    }
    ck_assert_float_eq(rt_net_buf(net, comp_plan_find_buf(p, "1.num_batches_tracked"))[0], 2.0f);
    rt_st_free(g);
    rt_net *r = rt_net_new(p, 4);
    ck_assert_msg(rt_checkpoint_resume(r, TORCH_STATE, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(note, "holds weights only (no training state)"), "note: %s", note);
    ck_assert_int_eq(r->epoch, 0);
    rt_net_free(r);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* What load_state_dict(strict=True) needs: the saved file has exactly the
 * keys of torch's state_dict, with its shapes (num_batches_tracked a 0-d
 * tensor), and nothing else. */
START_TEST(saved_file_is_the_state_dict)
{
    comp_plan *p = tu_compile_text(spec);
    char dir[256], path[300];
    rt_net *net = saved_net(p, dir, path);
    rt_st_file *f = load(path), *g = load(TORCH_STATE);
    ck_assert_int_eq(rt_st_count(f), rt_st_count(g));
    for (int i = 0; i < rt_st_count(g); i++) {
        const rt_tensor *want = rt_st_tensor(g, i), *got = rt_st_find(f, want->name);
        ck_assert_msg(got != NULL, "saved file lacks %s", want->name);
        ck_assert_int_eq(got->rank, want->rank);
        for (int d = 0; d < want->rank; d++)
            ck_assert_int_eq(got->shape[d], want->shape[d]);
    }
    ck_assert_str_eq(rt_st_meta(f, "format"), "pt");
    rt_st_free(f);
    rt_st_free(g);
    tu_rmdtemp(dir);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* Rewrite the companion of the pair at path with metadata key set to
 * value (NULL: removed); tensors and the other metadata stay. */
static void patch_companion(const char *path, const char *key, const char *value)
{
    char comp[400], err[512];
    companion_of(path, comp, sizeof comp);
    rt_st_file *f = load(comp);
    const char *keys[64], *vals[64];
    rt_tensor t[16];
    int n = 0, m = 0;
    static const char *const all[] = {"netc.pair", "netc.model", "netc.spec_hash", "netc.state", "netc.optimizer",
                                      "netc.schedule", "netc.step", "netc.epoch", "netc.shuffle_rng",
                                      "netc.dropout_rng", "netc.sched.base_lr", "netc.sched.lr",
                                      "netc.sched.last_epoch", "netc.sched.best", "netc.sched.num_bad_epochs",
                                      "netc.sched.cooldown_counter"};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        ck_assert_msg(rt_st_meta(f, all[i]) != NULL, "companion lacks %s", all[i]);
        if (strcmp(all[i], key) == 0 && !value)
            continue;
        keys[m] = all[i];
        vals[m++] = strcmp(all[i], key) == 0 ? value : rt_st_meta(f, all[i]);
    }
    for (int i = 0; i < rt_st_count(f); i++)
        t[n++] = *rt_st_tensor(f, i);
    ck_assert_msg(rt_st_save(comp, t, n, keys, vals, m, err, sizeof err) == 0, "%s", err);
    rt_st_free(f);
}

static const struct {
    const char *key, *value, *message;
} bad_meta[] = {
    {"netc.sched.lr", "nan", "netc.sched.lr = 'nan' is not a number"},
    {"netc.sched.lr", "-5", "netc.sched.lr = '-5' is out of range: an lr must be from 0 to 3.40282347e+38"},
    {"netc.sched.lr", "1e308", "netc.sched.lr = '1e308' is out of range: an lr must be from 0 to 3.40282347e+38"},
    {"netc.sched.lr", "inf", "netc.sched.lr = 'inf' is out of range"},
    {"netc.sched.base_lr", "0", "netc.sched.base_lr = '0' is out of range: a base lr must be above 0"},
    {"netc.epoch", "9223372036854775807",
     "netc.epoch = '9223372036854775807' is out of range: it must be a whole number from 0 to 2147483647"},
    {"netc.epoch", "2147483648", "netc.epoch = '2147483648' is out of range"},
    {"netc.epoch", "+3", "netc.epoch = '+3' is out of range"},
    {"netc.step", "-1", "netc.step = '-1' is out of range: it must be a whole number from 0 to 9007199254740992"},
    {"netc.step", "9007199254740993", "netc.step = '9007199254740993' is out of range"},
    {"netc.sched.num_bad_epochs", "1e3", "netc.sched.num_bad_epochs = '1e3' is out of range"},
    {"netc.shuffle_rng", "zz", "netc.shuffle_rng = 'zz' is not a generator state (16 hex digits)"},
    {"netc.dropout_rng", "0x00000000000001", "netc.dropout_rng = '0x00000000000001' is not a generator state"},
    {"netc.sched.best", "nan", "netc.sched.best = 'nan' is not a number"},
    {"netc.sched.cooldown_counter", NULL, "the training state has no netc.sched.cooldown_counter; it is damaged"},
    {"netc.state", "7", "training state version 7 is not one this netc reads"},
    {"netc.pair", "0123456789abcdef", "not the training state of"},
};

/* Every bad value is refused with its exact error, and the net is left
 * as it was. */
START_TEST(metadata_is_range_checked)
{
    comp_plan *p = tu_compile_text(spec);
    char dir[256], path[300], note[512], err[512];
    rt_net *net = saved_net(p, dir, path);
    patch_companion(path, bad_meta[_i].key, bad_meta[_i].value);
    rt_net *r = rt_net_new(p, 4);
    rt_net_init_params(r, 9);
    size_t bytes = p->arena_size[COMP_ARENA_PARAM] * sizeof(float);
    float *before = malloc(bytes);
    memcpy(before, r->arena[COMP_ARENA_PARAM], bytes);
    ck_assert_int_eq(rt_checkpoint_resume(r, path, 0, note, sizeof note, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad_meta[_i].message), "%s = %s: %s", bad_meta[_i].key,
                  bad_meta[_i].value ? bad_meta[_i].value : "(none)", err);
    ck_assert_mem_eq(r->arena[COMP_ARENA_PARAM], before, bytes);
    ck_assert_int_eq(r->epoch, 0);
    /* eval and predict read the weights alone: the training state is not theirs */
    ck_assert_msg(rt_checkpoint_load(r, path, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
    free(before);
    rt_net_free(r);
    rt_net_free(net);
    tu_rmdtemp(dir);
    tu_destroy(p);
}
END_TEST

/* A checkpoint of another model with the same tensors (Tanh for ReLU) is
 * refused with what differs; forced, its weights load with a warning and
 * training starts afresh. */
START_TEST(another_model_is_refused)
{
    comp_plan *p = tu_compile_text(spec), *q = tu_compile_text(spec_tanh);
    char dir[256], path[300], note[512], err[512];
    rt_net *net = saved_net(p, dir, path);
    rt_net *r = rt_net_new(q, 4);
    ck_assert_int_eq(rt_checkpoint_load(r, path, 0, note, sizeof note, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "the checkpoint is of another model: layer 2 is ReLU(inplace=false) in it but Tanh() here"
                              " (--force loads its weights anyway)"), "%s", err);
    ck_assert_int_eq(rt_checkpoint_resume(r, path, 0, note, sizeof note, err, sizeof err), -1);
    ck_assert_int_eq(rt_checkpoint_load(r, path, 1, note, sizeof note, err, sizeof err), 0);
    ck_assert_msg(strstr(note, "is of another model (layer 2 is ReLU(inplace=false) in it but Tanh() here); loading "
                               "its weights anyway (--force)"), "note: %s", note);
    ck_assert_mem_eq(r->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM],
                     p->arena_size[COMP_ARENA_PARAM] * sizeof(float));
    ck_assert_int_eq(rt_checkpoint_resume(r, path, 1, note, sizeof note, err, sizeof err), 0);
    ck_assert_msg(strstr(note, "only the weights are loaded, training starts afresh"), "note: %s", note);
    ck_assert_int_eq(r->epoch, 0);
    /* the same model resumes whole */
    rt_net *s = rt_net_new(p, 4);
    ck_assert_int_eq(rt_checkpoint_resume(s, path, 0, note, sizeof note, err, sizeof err), 0);
    ck_assert_str_eq(note, "");
    ck_assert_int_eq(s->epoch, 2);
    ck_assert_int_eq(s->step, net->step);
    rt_net_free(s);
    rt_net_free(r);
    rt_net_free(net);
    tu_rmdtemp(dir);
    tu_destroy(p);
    tu_destroy(q);
}
END_TEST

/* An older netc's single-file checkpoint (the parameters, the "optim."
 * tensors and the state metadata with netc.state 1, no companion) still
 * loads for eval and resumes whole. */
START_TEST(single_file_checkpoint_resumes)
{
    comp_plan *p = tu_compile_text(spec);
    char dir[256], path[300], comp[400], old[320], note[512], err[512];
    rt_net *net = saved_net(p, dir, path);
    companion_of(path, comp, sizeof comp);
    rt_st_file *f = load(path), *g = load(comp);
    rt_tensor t[32];
    const char *keys[32], *vals[32];
    int n = 0, m = 0;
    for (int i = 0; i < rt_st_count(f); i++)
        t[n++] = *rt_st_tensor(f, i);
    for (int i = 0; i < rt_st_count(g); i++)
        t[n++] = *rt_st_tensor(g, i);
    keys[m] = "format", vals[m++] = "pt";
    for (int i = 0; i < g->nmeta; i++) {
        const char *k = g->meta[2 * i], *v = g->meta[2 * i + 1];
        if (strcmp(k, "netc.pair") == 0)
            continue;
        keys[m] = k, vals[m++] = strcmp(k, "netc.state") == 0 ? "1" : v;
    }
    snprintf(old, sizeof old, "%s/old.safetensors", dir);
    ck_assert_msg(rt_st_save(old, t, n, keys, vals, m, err, sizeof err) == 0, "%s", err);
    rt_st_free(f);
    rt_st_free(g);
    rt_net *r = rt_net_new(p, 4);
    ck_assert_msg(rt_checkpoint_load(r, old, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(rt_checkpoint_resume(r, old, 0, note, sizeof note, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(note, "");
    ck_assert_int_eq(r->epoch, 2);
    ck_assert_int_eq(r->step, net->step);
    ck_assert_double_eq(r->sched.lr, net->sched.lr);
    ck_assert_mem_eq(r->arena[COMP_ARENA_PARAM], net->arena[COMP_ARENA_PARAM],
                     p->arena_size[COMP_ARENA_PARAM] * sizeof(float));
    ck_assert_mem_eq(r->arena[COMP_ARENA_STATE], net->arena[COMP_ARENA_STATE],
                     p->arena_size[COMP_ARENA_STATE] * sizeof(float));
    rt_net_free(r);
    rt_net_free(net);
    tu_rmdtemp(dir);
    tu_destroy(p);
}
END_TEST

static void touch(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("left over", f);
    fclose(f);
}

static int exists(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* A save removes the temporary files of writers that no longer run and the
 * companion of the pair it replaces; a running writer's file and other
 * files stay. */
START_TEST(save_sweeps_what_killed_writers_left)
{
    comp_plan *p = tu_compile_text(spec);
    rt_net *net = trained_net(p);
    char dir[256], path[300], err[512], own[64];
    scratch(dir, path, "ck.safetensors");
    /* no process has a pid this large (Linux's limit is 2^22) */
    touch(dir, "ck.safetensors.netc-tmp.999999999.a1b2c3");
    touch(dir, "ck.train-0123456789abcdef.safetensors.netc-tmp.999999999.a1b2c3");
    touch(dir, "ck.train-0123456789abcdef.safetensors");
    snprintf(own, sizeof own, "ck.safetensors.netc-tmp.%ld.a1b2c3", (long)getppid()); /* a running process */
    touch(dir, own);
    touch(dir, "ck.train.safetensors");          /* not netc's pattern */
    touch(dir, "ck.safetensors.netc-tmp.x.a1b2c3");
    ck_assert_msg(rt_checkpoint_save(net, path, err, sizeof err) == 0, "%s", err);
    ck_assert(!exists(dir, "ck.safetensors.netc-tmp.999999999.a1b2c3"));
    ck_assert(!exists(dir, "ck.train-0123456789abcdef.safetensors.netc-tmp.999999999.a1b2c3"));
    ck_assert(!exists(dir, "ck.train-0123456789abcdef.safetensors"));
    ck_assert(exists(dir, own));
    ck_assert(exists(dir, "ck.train.safetensors"));
    ck_assert(exists(dir, "ck.safetensors.netc-tmp.x.a1b2c3"));
    /* the pair, and the three left alone */
    ck_assert_int_eq(tu_scan_dir(dir, 0), 5);
    tu_rmdtemp(dir);
    rt_net_free(net);
    tu_destroy(p);
}
END_TEST

/* The advisory lock: a second writer is refused with the lock file named,
 * and can lock once the first has let go. */
START_TEST(second_writer_is_refused)
{
    char dir[256], path[300], err[600];
    scratch(dir, path, "ck.safetensors");
    int a = rt_af_lock(path, err, sizeof err);
    ck_assert_msg(a >= 0, "%s", err);
    ck_assert_int_eq(rt_af_lock(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "another netc process is writing this file (it holds ") && strstr(err, "ck.safetensors.lock)"),
                  "%s", err);
    rt_af_unlock(a);
    int b = rt_af_lock(path, err, sizeof err);
    ck_assert_msg(b >= 0, "%s", err);
    rt_af_unlock(b);
    snprintf(path, sizeof path, "%s/no/such/ck.safetensors", dir);
    ck_assert_int_eq(rt_af_lock(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot create the lock file"), "%s", err);
    tu_rmdtemp(dir);
}
END_TEST

/* A write that fails keeps the old file and leaves no temporary file:
 * /dev/full as the stream of a device, and an abort. */
START_TEST(failed_writes_keep_the_old_file)
{
    char dir[256], path[300], err[600];
    scratch(dir, path, "out.csv");
    ck_assert_int_eq(rt_af_write_text(path, "old\n", err, sizeof err), 0);
    rt_af *a = rt_af_begin(path, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    fputs("new\n", rt_af_stream(a));
    ck_assert_int_eq(tu_scan_dir(dir, 0), 2); /* the file and the temporary one */
    rt_af_abort(a);
    ck_assert_int_eq(tu_scan_dir(dir, 0), 1);
    FILE *f = fopen(path, "r");
    char line[16] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "old\n");
    if (access("/dev/full", W_OK) == 0) {
        ck_assert_int_eq(rt_af_write_text("/dev/full", "x", err, sizeof err), -1);
        ck_assert_msg(strstr(err, "/dev/full: write failed: No space left on device"), "%s", err);
    }
    tu_rmdtemp(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, torch_state_dict_loads);
    tcase_add_test(tc, saved_file_is_the_state_dict);
    tcase_add_loop_test(tc, metadata_is_range_checked, 0, (int)(sizeof bad_meta / sizeof *bad_meta));
    tcase_add_test(tc, another_model_is_refused);
    tcase_add_test(tc, single_file_checkpoint_resumes);
    tcase_add_test(tc, save_sweeps_what_killed_writers_left);
    tcase_add_test(tc, second_writer_is_refused);
    tcase_add_test(tc, failed_writes_keep_the_old_file);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
