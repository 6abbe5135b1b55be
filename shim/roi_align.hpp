// ROI align as a linear map, shared by the public entry points and the NeCo trainer.
#pragma once

#include <ATen/ATen.h>

namespace dfs {

// The settings of torchvision.ops.roi_align.
struct roi_align_config {
    int64_t output_size;
    double spatial_scale;
    int64_t sampling_ratio; // <= 0: adaptive, ceil(roi size / output size) samples per bin side
    bool aligned;
};

// Each box's bilinear sampling weights over an h x w map: (K, output^2, h * w) in `type`, so that
// aligned = weights @ map. boxes (K, 4) x1, y1, x2, y2 in input pixels, on the CPU.
at::Tensor roi_align_weights(const at::Tensor &boxes, int64_t h, int64_t w, const roi_align_config &config,
                             c10::ScalarType type);

// Channels-last ROI align with autograd: maps (B, h, w, C), boxes (K, 5) (batch index, x1, y1, x2,
// y2) on the CPU -> (K, output^2, C).
at::Tensor roi_align_channels_last(const at::Tensor &maps, const at::Tensor &boxes, const roi_align_config &config);

}  // namespace dfs
