// STEGO's correspondence loss in ATen, shared by the loss entry points and the trainer.
#pragma once

#include "df_shim.h"

#include <ATen/ATen.h>

#include <array>

namespace dfs {

// The official `sample` (grid_sample, bilinear, border, corners aligned) of t (B, C, H, W) at
// coords (B, P, P, 2) in [-1, 1], as (B, P P, C) samples (the points in another order than
// grid_sample's, which no term of the loss can see).
at::Tensor stego_sample(const at::Tensor &t, const at::Tensor &coords);

// The mean of -clamp(S) * (F - shift) for sampled features f1, f2 and codes s1, s2 (B, Q, C);
// F is computed without gradient.
at::Tensor stego_pair_loss(const at::Tensor &f1, const at::Tensor &f2, const at::Tensor &s1, const at::Tensor &s2,
                           double shift, const dfs_stego_loss_config &config);

// The self, KNN and random terms (unweighted) for maps f, s (of the batch) and f_knn, s_knn (their
// KNN partners), coordinates c1, c2 and permutations perms (negatives x B, int64).
std::array<at::Tensor, 3> stego_terms(const at::Tensor &f, const at::Tensor &s, const at::Tensor &f_knn,
                                      const at::Tensor &s_knn, const at::Tensor &c1, const at::Tensor &c2,
                                      const at::Tensor &perms, const dfs_stego_loss_config &config);

}  // namespace dfs
