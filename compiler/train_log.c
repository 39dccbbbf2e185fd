/* train_log.c — train's per-epoch JSON Lines log and plot curves. */
#include "train_log.h"

#include <errno.h>
#include <string.h>

#include "json.h"

void comp_train_log_epoch(void *ctx, rt_net *net, long epoch, double cost, double lr, double seconds)
{
    comp_train_log *t = ctx;
    rt_eval_result r = {0};
    if (t->test) {
        double t0 = rt_now_seconds();
        rt_evaluate(net, t->test, t->test_onehot, &r);
        t->eval_seconds += rt_now_seconds() - t0;
    }
    if (t->costs)
        t->costs[t->nepochs] = cost;
    if (t->test_losses)
        t->test_losses[t->nepochs] = r.loss;
    t->nepochs++;
    if (!t->log || t->failed)
        return;
    fprintf(t->log, "{\"epoch\": %ld, \"cost\": ", epoch);
    comp_json_num(t->log, cost);
    fputs(", \"lr\": ", t->log);
    comp_json_num(t->log, lr);
    if (t->test) {
        fputs(", \"test_loss\": ", t->log);
        comp_json_num(t->log, r.loss);
        if (r.has_accuracy) {
            fputs(", \"test_accuracy\": ", t->log);
            comp_json_num(t->log, r.n ? (double)r.correct / (double)r.n : 0);
        }
    }
    fputs(", \"seconds\": ", t->log);
    comp_json_num(t->log, seconds);
    fputs(", \"samples_per_second\": ", t->log);
    comp_json_num(t->log, seconds > 0 ? (double)t->samples / seconds : 0);
    fputs("}\n", t->log);
    if (fflush(t->log) != 0 || ferror(t->log)) {
        fprintf(stderr, "netc train: error writing '%s': %s\n", t->log_path, strerror(errno));
        t->failed = 1;
    }
}
