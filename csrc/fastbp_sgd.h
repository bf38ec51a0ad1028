/* fastbp_sgd.h: torch.optim.SGD's update of one flattened parameter (_optim.pyx's
 * sgd_update), in torch's order of operations:
 *
 *     d = -g if maximize else g
 *     d = d + weight_decay * p                      (weight_decay != 0)
 *     buf = d  (first step)  |  buf = momentum * buf + (1 - dampening) * d
 *     d = d + momentum * buf (nesterov)  |  d = buf (momentum != 0)
 *     p = p + (-lr) * d
 *
 * Each operation rounds to T, as torch's tensor ops do; the hyper-parameters are cast to T
 * first, as torch casts its Scalar alphas.  float32 multiplies in double in the blocks
 * whose state is small enough for a product to be subnormal: the same floats, without the
 * subnormal assist (fastbp_subnormal.h).
 * Trusts: p, g (and buf, unless momentum == 0) hold n elements and do not overlap.
 * IN g; IN/OUT p, buf.
 */
#ifndef FASTBP_SGD_H
#define FASTBP_SGD_H

#include <stddef.h>

#define FASTBP_SGD(T, SFX)                                                                 \
    void fastbp_sgd##SFX(T* p, const T* g, T* buf, ptrdiff_t n, double lr, double momentum, \
                         double dampening, double weight_decay, int nesterov, int maximize, \
                         int first_step);
FASTBP_SGD(float, _f32)
FASTBP_SGD(double, _f64)

#endif
