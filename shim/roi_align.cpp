// ROI align (He et al., Mask R-CNN) with torchvision's conventions (torchvision/csrc/ops/cpu/
// roi_align_kernel.cpp): each output bin averages bilinear samples on a regular grid. The samples'
// places depend on the boxes only, so the operation is a fixed linear map of the features: the
// weights are built once per box (in the features' type, with torchvision's arithmetic) and applied
// as one batched matrix product, whose gradient autograd derives exactly.
#include "roi_align.hpp"

#include "fence.hpp"
#include "tensor_util.hpp"
#include "roi_align_shim.h"

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>

namespace {

// torchvision's bilinear_interpolate, adding the four corners' weights (times scale) to row.
template <typename T>
void add_bilinear(T *row, int64_t height, int64_t width, T y, T x, T scale) {
    if (y < -1.0 || y > height || x < -1.0 || x > width) return; // outside the map: contributes 0
    if (y <= 0) y = 0;
    if (x <= 0) x = 0;
    int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
    if (y_low >= height - 1) {
        y_high = y_low = height - 1;
        y = static_cast<T>(y_low);
    } else {
        y_high = y_low + 1;
    }
    if (x_low >= width - 1) {
        x_high = x_low = width - 1;
        x = static_cast<T>(x_low);
    } else {
        x_high = x_low + 1;
    }
    const T ly = y - static_cast<T>(y_low), lx = x - static_cast<T>(x_low), hy = 1 - ly, hx = 1 - lx;
    row[y_low * width + x_low] += hy * hx * scale;
    row[y_low * width + x_high] += hy * lx * scale;
    row[y_high * width + x_low] += ly * hx * scale;
    row[y_high * width + x_high] += ly * lx * scale;
}

template <typename T>
void box_weights(const double *box, int64_t height, int64_t width, const dfs::roi_align_config &c, T *out) {
    const T scale = static_cast<T>(c.spatial_scale), offset = c.aligned ? static_cast<T>(0.5) : static_cast<T>(0);
    const T start_w = static_cast<T>(box[0]) * scale - offset, start_h = static_cast<T>(box[1]) * scale - offset;
    const T end_w = static_cast<T>(box[2]) * scale - offset, end_h = static_cast<T>(box[3]) * scale - offset;
    T roi_w = end_w - start_w, roi_h = end_h - start_h;
    if (!c.aligned) roi_w = std::max(roi_w, static_cast<T>(1)), roi_h = std::max(roi_h, static_cast<T>(1));
    const int64_t p = c.output_size;
    const T bin_h = roi_h / static_cast<T>(p), bin_w = roi_w / static_cast<T>(p);
    const int64_t grid_h = c.sampling_ratio > 0 ? c.sampling_ratio : static_cast<int64_t>(std::ceil(roi_h / static_cast<T>(p)));
    const int64_t grid_w = c.sampling_ratio > 0 ? c.sampling_ratio : static_cast<int64_t>(std::ceil(roi_w / static_cast<T>(p)));
    const T count = static_cast<T>(std::max<int64_t>(grid_h * grid_w, 1));
    for (int64_t ph = 0; ph < p; ph++)
        for (int64_t pw = 0; pw < p; pw++) {
            T *row = out + (ph * p + pw) * height * width;
            for (int64_t iy = 0; iy < grid_h; iy++) {
                const T y = start_h + static_cast<T>(ph) * bin_h +
                            (static_cast<T>(iy) + static_cast<T>(0.5)) * bin_h / static_cast<T>(grid_h);
                for (int64_t ix = 0; ix < grid_w; ix++) {
                    const T x = start_w + static_cast<T>(pw) * bin_w +
                                (static_cast<T>(ix) + static_cast<T>(0.5)) * bin_w / static_cast<T>(grid_w);
                    add_bilinear(row, height, width, y, x, static_cast<T>(1) / count);
                }
            }
        }
}

dfs::roi_align_config config_of(int64_t output_size, double spatial_scale, int64_t sampling_ratio, int32_t aligned) {
    return {output_size, spatial_scale, sampling_ratio, aligned != 0};
}

}  // namespace

namespace dfs {

at::Tensor roi_align_weights(const at::Tensor &boxes, int64_t h, int64_t w, const roi_align_config &config,
                             c10::ScalarType type) {
    const at::Tensor b = boxes.to(at::kCPU, at::kDouble).contiguous();
    const int64_t k = b.size(0), bins = config.output_size * config.output_size;
    at::Tensor weights = at::zeros({k, bins, h * w}, at::TensorOptions().dtype(type));
    const double *box = b.data_ptr<double>();
    at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; i++) {
            if (type == at::kDouble) box_weights<double>(box + 4 * i, h, w, config, weights[i].data_ptr<double>());
            else box_weights<float>(box + 4 * i, h, w, config, weights[i].data_ptr<float>());
        }
    });
    return weights;
}

at::Tensor roi_align_channels_last(const at::Tensor &maps, const at::Tensor &boxes, const roi_align_config &config) {
    const int64_t b = maps.size(0), h = maps.size(1), w = maps.size(2), c = maps.size(3);
    const at::Tensor index = boxes.select(1, 0).to(at::kLong);
    TORCH_CHECK(index.numel() == 0 || (index.min().item<int64_t>() >= 0 && index.max().item<int64_t>() < b),
                "a box's batch index is outside 0..", b - 1);
    const at::Tensor weights =
        roi_align_weights(boxes.slice(1, 1, 5), h, w, config, maps.scalar_type()).to(maps.device());
    const at::Tensor flat = maps.reshape({b, h * w, c});
    // With one box per image in order (the trainer's case) the gather is the maps themselves.
    const bool identity = index.numel() == b && index.equal(at::arange(b, index.options()));
    return at::bmm(weights, identity ? flat : flat.index_select(0, index.to(maps.device())));
}

}  // namespace dfs

namespace {

// features (B, C, H, W) -> (K, C, P, P), differentiable.
at::Tensor roi_align_nchw(const at::Tensor &features, const at::Tensor &boxes, const dfs::roi_align_config &c) {
    at::Tensor out = dfs::roi_align_channels_last(features.permute({0, 2, 3, 1}), boxes, c);
    return out.transpose(1, 2).reshape({boxes.size(0), features.size(1), c.output_size, c.output_size});
}

}  // namespace

extern "C" df_status dfs_roi_align(const dfs_tensor_desc *features, const dfs_tensor_desc *boxes, int64_t output_size,
                                   double spatial_scale, int64_t sampling_ratio, int32_t aligned, dfs_tensor **out,
                                   dfs_tensor_desc *out_desc) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        const at::Tensor f = dfs::view_of(*features), b = dfs::view_of(*boxes).to(at::kCPU, at::kDouble);
        return dfs::hand_out(
            roi_align_nchw(f, b, config_of(output_size, spatial_scale, sampling_ratio, aligned)).contiguous(), out,
            out_desc);
    });
}

extern "C" df_status dfs_roi_align_backward(const dfs_tensor_desc *features, const dfs_tensor_desc *boxes,
                                            int64_t output_size, double spatial_scale, int64_t sampling_ratio,
                                            int32_t aligned, const dfs_tensor_desc *grad_out, dfs_tensor **grad,
                                            dfs_tensor_desc *grad_desc) noexcept {
    DFS_FENCE({
        const at::Tensor view = dfs::view_of(*features);
        // Only the shape and type of the features matter: the map is linear.
        at::Tensor f = at::zeros(view.sizes(), view.options()).set_requires_grad(true);
        const at::Tensor b = dfs::view_of(*boxes).to(at::kCPU, at::kDouble);
        {
            c10::AutoGradMode enable(true);
            at::Tensor out = roi_align_nchw(f, b, config_of(output_size, spatial_scale, sampling_ratio, aligned));
            out.backward(dfs::view_of(*grad_out).to(out.options()));
        }
        return dfs::hand_out(f.grad().contiguous(), grad, grad_desc);
    });
}
