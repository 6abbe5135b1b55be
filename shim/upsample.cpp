// HR-Dv2 feature upsampling (specs/hrdv2.md section 1): the model's output averaged over invertible
// transforms of the image, each view mapped back to pixel resolution by index arithmetic and
// added into one H x W x D buffer, so memory does not grow with the number of transforms.
#include "fence.hpp"
#include "products.hpp"
#include "tensor_util.hpp"
#include "upsample_internal.hpp"
#include "vit_internal.hpp"

#include <c10/core/GradMode.h>

#include <cmath>
#include <vector>

namespace dfs {

std::vector<ups_view> ups_views(const dfs_upsample_config &c) {
    static const int moore[8][2] = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}};
    static const int neumann[4][2] = {{-1, 0}, {0, -1}, {0, 1}, {1, 0}};
    std::vector<std::pair<int64_t, int64_t>> shifts = {{0, 0}};
    for (int32_t i = 0; i < c.distance_count; i++)
        for (int k = 0; k < (c.von_neumann ? 4 : 8); k++) {
            const int *direction = c.von_neumann ? neumann[k] : moore[k];
            shifts.push_back({direction[0] * c.distances[i], direction[1] * c.distances[i]});
        }
    struct flip { bool rows, cols; double weight; };
    std::vector<flip> flips = {{false, false, c.flips == 2 ? 2.0 : 1.0}};
    if (c.flips) {
        flips.push_back({false, true, 1.0}); // horizontal
        flips.push_back({true, false, 1.0}); // vertical
    }
    std::vector<ups_view> views;
    for (const auto &s : shifts)
        for (const auto &f : flips) views.push_back({s.first, s.second, f.rows, f.cols, f.weight});
    return views;
}

at::Tensor ups_transform_image(const at::Tensor &x, const ups_view &v, int border) {
    const int64_t h = x.size(2), w = x.size(3);
    at::Tensor out;
    if (border == 0) {
        out = at::roll(x, {v.dy, v.dx}, {2, 3});
    } else {
        const int64_t top = std::max<int64_t>(v.dy, 0), bottom = std::max<int64_t>(-v.dy, 0);
        const int64_t left = std::max<int64_t>(v.dx, 0), right = std::max<int64_t>(-v.dx, 0);
        at::Tensor padded = border == 1 ? at::constant_pad_nd(x, {left, right, top, bottom}, 0)
                                        : at::replication_pad2d(x, {left, right, top, bottom});
        out = padded.narrow(2, bottom, h).narrow(3, right, w);
    }
    if (v.flip_rows) out = at::flip(out, {2});
    if (v.flip_cols) out = at::flip(out, {3});
    return out;
}

// The exact inverse of shift-then-flip: j = flip(i + shift), wrapped or marked invalid.
void ups_inverse_axis(int64_t n, int64_t shift, bool flip, bool wrap, std::vector<int64_t> &index,
                      std::vector<float> &valid) {
    index.assign(static_cast<size_t>(n), 0);
    valid.assign(static_cast<size_t>(n), 1.0f);
    for (int64_t i = 0; i < n; i++) {
        int64_t j = i + shift;
        if (wrap) {
            j = ((j % n) + n) % n;
        } else if (j < 0 || j >= n) {
            valid[static_cast<size_t>(i)] = 0.0f;
            j = 0;
        }
        index[static_cast<size_t>(i)] = flip ? n - 1 - j : j;
    }
}

}  // namespace dfs

namespace {

using dfs::ups_view;

// torch's own nearest-exact source index for each of n output positions reading g inputs, so the
// arithmetic is PyTorch's in every version.
at::Tensor nearest_exact_sources(int64_t g, int64_t n) {
    at::Tensor positions = at::arange(g, at::TensorOptions().dtype(at::kFloat)).view({1, 1, g});
    const std::vector<int64_t> size = {n};
    return at::_upsample_nearest_exact1d(positions, at::IntArrayRef(size), c10::optional<double>()).view({n}).to(at::kLong);
}

at::Tensor long_tensor(const std::vector<int64_t> &values, at::Device device) {
    return at::tensor(at::IntArrayRef(values), at::TensorOptions().dtype(at::kLong)).to(device);
}

// Per-head attention channels over patch tokens (B, gh, gw, heads), as specs/hrdv2.md defines them.
at::Tensor attention_channels(const std::vector<at::Tensor> &out, int kind, const dfs_vit_config &c, int64_t heads,
                              int64_t gh, int64_t gw) {
    if (kind == DFS_UPS_ATTN_CLS) return out[DFS_VIT_OUT_CLS_ATTENTION].permute({0, 2, 3, 1});
    const int64_t b = out[DFS_VIT_OUT_PATCH].size(0), hd = c.dim / heads, r = c.registers;
    auto per_head = [&](const at::Tensor &x) { return x.reshape({b, -1, heads, hd}); }; // (B, N, heads, hd)
    at::Tensor channels;                                                              // (B, N, heads)
    if (kind == DFS_UPS_ATTN_O) {
        at::Tensor q = per_head(out[DFS_VIT_OUT_Q]).transpose(1, 2), k = per_head(out[DFS_VIT_OUT_K]).transpose(1, 2);
        at::Tensor v = per_head(out[DFS_VIT_OUT_V]).transpose(1, 2);                  // (B, heads, N, hd)
        at::Tensor weights = at::softmax(dfs::matmul(q.narrow(2, 0, 1), k.transpose(-2, -1)) *
                                             std::pow(static_cast<double>(hd), -0.5), -1);
        at::Tensor o = dfs::matmul(weights, v);                                         // (B, heads, 1, hd)
        channels = (v * o).sum(-1).transpose(1, 2);
    } else {
        channels = per_head(out[static_cast<size_t>(DFS_VIT_OUT_Q + (kind - DFS_UPS_ATTN_Q))]).sum(-1);
    }
    return channels.narrow(1, 1 + r, gh * gw).reshape({b, gh, gw, heads});
}

// One view's map (gh, gw, C) brought to pixel resolution and back through the view's inverse.
at::Tensor to_pixels(const at::Tensor &map, const at::Tensor &rows, const at::Tensor &cols,
                     const at::Tensor &row_tokens, const at::Tensor &col_tokens, bool bilinear, int64_t h, int64_t w) {
    if (!bilinear) return map.index_select(0, row_tokens.index_select(0, rows)).index_select(1, col_tokens.index_select(0, cols));
    const std::vector<int64_t> size = {h, w};
    at::Tensor up = at::upsample_bilinear2d(map.permute({2, 0, 1}).unsqueeze(0), at::IntArrayRef(size), false,
                                            c10::optional<double>(), c10::optional<double>());
    return up.squeeze(0).permute({1, 2, 0}).index_select(0, rows).index_select(1, cols);
}

}  // namespace

extern "C" {

df_status dfs_upsample(dfs_vit *vit, const dfs_tensor_desc *image, const dfs_upsample_config *config,
                       dfs_tensor **features, dfs_tensor_desc *features_desc, dfs_tensor **attention,
                       dfs_tensor_desc *attention_desc) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        const dfs_vit_config &c = dfs::vit_config(*vit);
        const at::Device device = dfs::vit_device(*vit);
        const int64_t patch = c.patch, stride = config->run.stride > 0 ? config->run.stride : patch;
        at::Tensor x = dfs::view_of(*image).to(device, at::kFloat);
        const int64_t original_h = x.size(2), original_w = x.size(3);
        // Centre-crop to multiples of the patch size, as the official code does (or zero-pad up to
        // them); a stride that does not divide the size leaves the last rows and columns to the
        // convolution.
        int64_t h = original_h / patch * patch, w = original_w / patch * patch;
        if (config->pad) {
            h = (original_h + patch - 1) / patch * patch;
            w = (original_w + patch - 1) / patch * patch;
            x = at::constant_pad_nd(x, {0, w - original_w, 0, h - original_h}, 0);
        }
        TORCH_CHECK(h > 0 && w > 0, "the image is smaller than one patch");
        x = x.narrow(2, dfs::centre_offset(x.size(2) - h), h).narrow(3, dfs::centre_offset(x.size(3) - w), w);
        const int64_t gh = 1 + (h - patch) / stride, gw = 1 + (w - patch) / stride;

        dfs_vit_run run = config->run;
        run.cover = DFS_COVER_NONE;
        run.layer_count = 0;
        run.outputs = 1u << DFS_VIT_OUT_PATCH;
        const int kind = config->attention;
        if (kind == DFS_UPS_ATTN_CLS) run.outputs |= 1u << DFS_VIT_OUT_CLS_ATTENTION;
        if (kind == DFS_UPS_ATTN_O) run.outputs |= (1u << DFS_VIT_OUT_Q) | (1u << DFS_VIT_OUT_K) | (1u << DFS_VIT_OUT_V);
        if (kind >= DFS_UPS_ATTN_Q && kind <= DFS_UPS_ATTN_V) run.outputs |= 1u << (DFS_VIT_OUT_Q + kind - DFS_UPS_ATTN_Q);

        const std::vector<ups_view> views = dfs::ups_views(*config);
        const bool wrap = config->border == 0;
        const at::Tensor row_tokens = nearest_exact_sources(gh, h).to(device), col_tokens = nearest_exact_sources(gw, w).to(device);
        auto float_options = at::TensorOptions().dtype(at::kFloat).device(device);
        at::Tensor feature_sum = at::zeros({h, w, c.dim}, float_options), attention_sum, weight_sum;
        if (kind != DFS_UPS_ATTN_NONE) attention_sum = at::zeros({h, w, run.heads}, float_options);
        double total_weight = 0;
        if (!wrap) weight_sum = at::zeros({h, w, 1}, float_options);

        const size_t batch = static_cast<size_t>(std::max<int32_t>(1, config->batch));
        for (size_t first = 0; first < views.size(); first += batch) {
            const size_t count = std::min(batch, views.size() - first);
            std::vector<at::Tensor> images;
            for (size_t i = 0; i < count; i++) images.push_back(dfs::ups_transform_image(x, views[first + i], config->border));
            std::vector<at::Tensor> out = dfs::vit_forward(*vit, at::cat(images, 0), run);
            at::Tensor patches = out[DFS_VIT_OUT_PATCH].to(at::kFloat);
            at::Tensor channels;
            if (kind != DFS_UPS_ATTN_NONE) channels = attention_channels(out, kind, c, run.heads, gh, gw).to(at::kFloat);
            // Views are added one at a time, in order: the result does not depend on the batch size.
            for (size_t i = 0; i < count; i++) {
                const ups_view &v = views[first + i];
                std::vector<int64_t> row_index, col_index;
                std::vector<float> row_valid, col_valid;
                dfs::ups_inverse_axis(h, v.dy, v.flip_rows, wrap, row_index, row_valid);
                dfs::ups_inverse_axis(w, v.dx, v.flip_cols, wrap, col_index, col_valid);
                const at::Tensor rows = long_tensor(row_index, device), cols = long_tensor(col_index, device);
                at::Tensor mask;
                if (!wrap) {
                    mask = at::outer(at::tensor(row_valid).to(device), at::tensor(col_valid).to(device)).unsqueeze(-1);
                    weight_sum.add_(mask, v.weight);
                }
                at::Tensor contribution = to_pixels(patches[static_cast<int64_t>(i)], rows, cols, row_tokens, col_tokens,
                                                    config->bilinear != 0, h, w);
                feature_sum.add_(wrap ? contribution : contribution * mask, v.weight);
                if (kind != DFS_UPS_ATTN_NONE) {
                    at::Tensor a = to_pixels(channels[static_cast<int64_t>(i)], rows, cols, row_tokens, col_tokens,
                                             config->bilinear != 0, h, w);
                    attention_sum.add_(wrap ? a : a * mask, v.weight);
                }
                total_weight += v.weight;
                const uint64_t done = first + i + 1;
                if (config->progress && config->progress(config->progress_user, done, views.size(), "upsample"))
                    return dfs::fail(DF_E_CANCELLED, "cancelled by the progress callback after " + std::to_string(done) +
                                                         " of " + std::to_string(views.size()) + " views");
            }
        }
        // Pixels no view saw (possible with non-wrapping borders only) stay zero.
        at::Tensor divisor = wrap ? at::full({1}, total_weight, float_options) : weight_sum.clamp_min(1e-12);
        at::Tensor result = feature_sum.div_(divisor);
        // Padding: the pixels of the image itself, top-left.
        auto unpad = [&](const at::Tensor &t) { return config->pad ? t.narrow(0, 0, original_h).narrow(1, 0, original_w) : t; };
        result = unpad(result);
        if (!config->on_device) result = result.to(at::kCPU);
        df_status status = dfs::hand_out(result.contiguous(), features, features_desc);
        if (status != DF_OK || kind == DFS_UPS_ATTN_NONE) {
            if (attention) *attention = nullptr;
            return status;
        }
        at::Tensor attention_result = unpad(attention_sum.div_(divisor));
        if (!config->on_device) attention_result = attention_result.to(at::kCPU);
        return dfs::hand_out(attention_result.contiguous(), attention, attention_desc);
    });
}

}  // extern "C"
