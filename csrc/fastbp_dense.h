/* fastbp_dense.h: the dense layer's passes over its (N, O) output that run beside the GEMM
 * (_dense.pyx): the bias added to the product, with ReLU in the same pass, and the bias
 * gradient, with ReLU's backward in the same pass.  Their floats are those of separate
 * passes (the bias, then torch's relu; relu's backward, then the column sums).
 *
 * fastbp_add_bias: y[n, o] = y[n, o] + b[o] (b NULL: no bias), then relu when then_relu
 *   (torch's clamp_min(y, 0): only y < 0 becomes +0, so -0.0 and nan stay).
 * fastbp_bias_grad: gb[o] = (or +=, with accumulate) Σ_n gz[n, o], summed in double over
 *   n = 0..N-1 in order and added once; gz = gy, or with relu_y (a ReLU's output)
 *   gz = where(relu_y <= 0, 0, gy), torch's threshold_backward, written to gz (which may
 *   be gy itself).
 * Trusts: buffers of N*O (b, gb: O) elements; only gz and gy may be the same buffer.
 */
#ifndef FASTBP_DENSE_H
#define FASTBP_DENSE_H

#include <stddef.h>

#define FASTBP_DENSE_PASSES(T, SFX)                                                          \
    void fastbp_add_bias##SFX(T* y, const T* b, ptrdiff_t N, ptrdiff_t O, int then_relu);    \
    void fastbp_bias_grad##SFX(const T* gy, const T* relu_y, T* gz, T* gb, ptrdiff_t N,      \
                               ptrdiff_t O, int accumulate);
FASTBP_DENSE_PASSES(float, _f32)
FASTBP_DENSE_PASSES(double, _f64)

#endif
