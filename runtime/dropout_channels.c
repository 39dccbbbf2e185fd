/* dropout_channels.c — torch.nn.Dropout1d/Dropout2d: training-mode dropout
 * of whole channels, the mask drawn from the caller's generator state. */
#include "kernels.h"
#include "spatial.h"

/* One draw per channel row, the same test and scale as rt_dropout_forward
 * (keep when u < 1 - p, kept rows scaled by the float 1/(1 - p)); p = 0
 * keeps everything, p = 1 drops all, neither draws.  The mask is
 * written per element so that rt_dropout_backward is the backward. */
void rt_dropout_channels_forward(const float *x, float *y, float *mask, size_t rows, size_t inner, float p,
                                 uint64_t *rng)
{
    const double keep = 1.0 - (double)p;
    const float scale = p > 0.0f && p < 1.0f ? 1.0f / (float)keep : 1.0f;
    for (size_t r = 0; r < rows; r++) {
        float m;
        if (p <= 0.0f)
            m = 1.0f;
        else if (p >= 1.0f)
            m = 0.0f;
        else
            m = rt_rng_uniform(rng) < keep ? scale : 0.0f;
        float *mp = mask + r * inner, *yp = y + r * inner;
        const float *xp = x + r * inner;
        for (size_t i = 0; i < inner; i++) {
            mp[i] = m;
            yp[i] = xp[i] * m;
        }
    }
}
