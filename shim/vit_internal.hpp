// What other shim files need of the ViT: its settings and a forward pass over ATen tensors.
#pragma once

#include "df_shim.h"
#include "vit_shim.h"

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace dfs {
const dfs_vit_config &vit_config(const dfs_vit &vit);
at::Device vit_device(const dfs_vit &vit);
c10::ScalarType vit_dtype(const dfs_vit &vit);
// Every weight under its official name, in the configuration's order (pos_embed in float32).
std::vector<std::pair<std::string, at::Tensor>> vit_weights(const dfs_vit &vit);
// pos (1, 1 + m * m, D) with its m x m patch part resampled to gh x gw by the DFS_POS_* variant, in
// float32 arithmetic; differentiable.
at::Tensor resample_pos_embed(const at::Tensor &pos, int64_t m, int64_t gh, int64_t gw, int variant);
// Runs the model on images (B, 3, H, W) of any dtype and device; returns the output slots
// (undefined tensors for those not requested), intermediate layers after DFS_VIT_OUT_FIRST_LAYER.
std::vector<at::Tensor> vit_forward(const dfs_vit &vit, const at::Tensor &images, const dfs_vit_run &run);
}  // namespace dfs
