// STEGO's correspondence loss in ATen, shared by the loss entry points and the trainer.
#pragma once

#include "df_shim.h"
#include "stego_shim.h"

#include <ATen/ATen.h>

#include <array>

namespace dfs {

// The official `sample` (grid_sample, bilinear, border, corners aligned) of t (B, C, H, W) at
// coords (B, P, P, 2) in [-1, 1], as (B, P P, C) samples (the points in another order than
// grid_sample's, which no term of the loss can see).
at::Tensor stego_sample(const at::Tensor &t, const at::Tensor &coords);

// The mean of -clamp(S) * (F - shift) for sampled features f1, f2 and codes s1, s2 (B, Q, C);
// F is computed without gradient. across_ranks: the batch is shared by the ranks of a process
// group, and F's centring takes the whole batch's means.
at::Tensor stego_pair_loss(const at::Tensor &f1, const at::Tensor &f2, const at::Tensor &s1, const at::Tensor &s2,
                           double shift, const dfs_stego_loss_config &config, bool across_ranks);

// The self, KNN and random terms (unweighted). f and s are the maps of a pool of images, own (n,
// int64) the pool rows of the batch; f_knn and s_knn (n) the batch's KNN partners; coordinates c1,
// c2 (n); perms (negatives x n, int64) the pool rows each image is paired with as a negative;
// across_ranks as stego_pair_loss's.
std::array<at::Tensor, 3> stego_terms(const at::Tensor &f, const at::Tensor &s, const at::Tensor &own,
                                      const at::Tensor &f_knn, const at::Tensor &s_knn, const at::Tensor &c1,
                                      const at::Tensor &c2, const at::Tensor &perms, const dfs_stego_loss_config &config,
                                      bool across_ranks);

}  // namespace dfs
