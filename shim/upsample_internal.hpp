// The transforms of the upsampler, for the coordinate test (test/internal/).
#pragma once

#include "df_shim.h"
#include "upsample_shim.h"

#include <ATen/ATen.h>

#include <vector>

namespace dfs {
struct ups_view {
    int64_t dy, dx;            // shift of rows and columns
    bool flip_rows, flip_cols; // vertical, horizontal flip, applied after the shift
    double weight;
};
std::vector<ups_view> ups_views(const dfs_upsample_config &config);
// The image as the view sees it: shifted (border 0 wrap, 1 zero, 2 replicate), then flipped.
at::Tensor ups_transform_image(const at::Tensor &x, const ups_view &v, int border);
// For each output index i along an axis of length n: the index of the transformed image showing
// original pixel i, and 1 or 0 for whether it exists.
void ups_inverse_axis(int64_t n, int64_t shift, bool flip, bool wrap, std::vector<int64_t> &index,
                      std::vector<float> &valid);
}  // namespace dfs
