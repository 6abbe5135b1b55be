// Sempart's losses in ATen (specs/sempart.md), shared by the loss entry points and the trainer.
#pragma once

#include "df_shim.h"

#include <ATen/ATen.h>

namespace dfs {

// Each is the batch mean of the per-image loss. masks (B, h, w) in [0, 1]; features (B, h, w, D)
// (normalised here); images (B, 3, H, W) as the network sees them.
at::Tensor ncut_loss(const at::Tensor &masks, const at::Tensor &features, double tau, double eps);
at::Tensor gtv_coarse_loss(const at::Tensor &masks, const at::Tensor &features, double eps);
at::Tensor gtv_fine_loss(const at::Tensor &masks, const at::Tensor &images, double sigma);
// fine (B, H, W) average-pooled by H / h to coarse's (B, h, w).
at::Tensor sr_loss(const at::Tensor &fine, const at::Tensor &coarse);

}  // namespace dfs
