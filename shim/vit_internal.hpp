// What other shim files need of the ViT: its settings and a forward pass over ATen tensors.
#pragma once

#include "df_shim.h"

#include <ATen/ATen.h>

#include <vector>

namespace dfs {
const dfs_vit_config &vit_config(const dfs_vit &vit);
at::Device vit_device(const dfs_vit &vit);
c10::ScalarType vit_dtype(const dfs_vit &vit);
// Runs the model on images (B, 3, H, W) of any dtype and device; returns the output slots
// (undefined tensors for those not requested), intermediate layers after DFS_VIT_OUT_FIRST_LAYER.
std::vector<at::Tensor> vit_forward(const dfs_vit &vit, const at::Tensor &images, const dfs_vit_run &run);
}  // namespace dfs
