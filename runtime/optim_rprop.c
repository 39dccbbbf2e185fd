/* optim_rprop.c — torch.optim.Rprop steps (torch 1.13, single-tensor
 * path), rounding as torch's float32 CPU kernels do (torch_ops.h). */
#include <math.h>

#include "kernels.h"
#include "torch_ops.h"

/* _single_tensor_rprop: the sign of g * prev picks the factor etaplus
 * (> 0), etaminus (< 0) or 1; step_size = clamp(step_size * factor,
 * step_size_min, step_size_max); where the factor is etaminus the gradient
 * counts as 0; param -= sign(g) * step_size; prev = g.  On step 1 prev
 * starts at 0 and every step size at lr (lr is used nowhere else). */
void rt_rprop_step(float *param, const float *grad, float *prev, float *step_size, size_t n, long step,
                   double lr, double etaminus, double etaplus, double step_size_min, double step_size_max,
                   int maximize)
{
    const float em = (float)etaminus, ep = (float)etaplus;
    const float lo = (float)step_size_min, hi = (float)step_size_max, init = (float)lr;
    const int first = step <= 1;
    for (size_t i = 0; i < n; i++) {
        float g = maximize ? -grad[i] : grad[i];
        const float pr = first ? 0.0f : prev[i];
        const float s = t_sign(g * pr);
        const float factor = s > 0.0f ? ep : s < 0.0f ? em : 1.0f;
        float ss = (first ? init : step_size[i]) * factor;
        /* clamp_(min, max): NaN stays NaN */
        if (ss == ss)
            ss = fminf(fmaxf(ss, lo), hi);
        step_size[i] = ss;
        if (factor == em)
            g = 0.0f;
        param[i] = t_addcmul(param[i], t_sign(g), ss, -1.0f);
        prev[i] = g;
    }
}
