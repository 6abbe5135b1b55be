// What the NeCo trainer shares with the loss and sorting files of the shim.
#pragma once

#include "df_shim.h"
#include "neco_shim.h"

#include <ATen/ATen.h>

namespace dfs {

// Rows (m, n) on the CPU, contiguous, float32 or float64: P (m, n, n).
at::Tensor diffsort_permutation(const at::Tensor &rows, int32_t network, int32_t sigmoid, double steepness);
// d/d rows of sum(grad_p * P(rows)).
at::Tensor diffsort_permutation_vjp(const at::Tensor &rows, int32_t network, int32_t sigmoid, double steepness,
                                    const at::Tensor &grad_p);

// The loss of student, teacher (B, Nq, d) against refs (B, R, d), computed on the CPU in the
// student's type (float32 or float64); *grad (when not NULL) gets d loss / d student there.
double neco_loss(const at::Tensor &student, const at::Tensor &teacher, const at::Tensor &refs,
                 const dfs_neco_config &config, at::Tensor *grad);

}  // namespace dfs
