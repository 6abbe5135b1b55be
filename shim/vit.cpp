// DINO / DINOv2 vision transformers: the forward pass of shared/specs/backbones.md over ATen.
#include "attention.hpp"
#include "fence.hpp"
#include "products.hpp"
#include "tensor_util.hpp"
#include "vit_internal.hpp"


#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

struct dfs_vit {
    dfs_vit_config config;
    std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
    at::Device device{at::kCPU};
    c10::ScalarType dtype{at::kFloat};
    std::unordered_map<std::string, at::Tensor> weights;
};

namespace {

constexpr double kLayerNormEps = 1e-6;

// Every weight the configuration needs, with its shape.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_weights(const dfs_vit_config &c) {
    const int64_t d = c.dim, grid = c.pos_grid, hidden = c.mlp_hidden;
    std::vector<std::pair<std::string, std::vector<int64_t>>> list = {
        {"cls_token", {1, 1, d}},
        {"pos_embed", {1, 1 + grid * grid, d}},
        {"patch_embed.proj.weight", {d, 3, c.patch, c.patch}},
        {"patch_embed.proj.bias", {d}},
        {"norm.weight", {d}},
        {"norm.bias", {d}}};
    if (c.registers > 0) list.push_back({"register_tokens", {1, c.registers, d}});
    for (int i = 0; i < c.depth; i++) {
        const std::string p = "blocks." + std::to_string(i) + ".";
        for (const char *norm : {"norm1", "norm2"}) {
            list.push_back({p + norm + ".weight", {d}});
            list.push_back({p + norm + ".bias", {d}});
        }
        list.push_back({p + "attn.qkv.weight", {3 * d, d}});
        list.push_back({p + "attn.qkv.bias", {3 * d}});
        list.push_back({p + "attn.proj.weight", {d, d}});
        list.push_back({p + "attn.proj.bias", {d}});
        if (c.swiglu) {
            list.push_back({p + "mlp.w12.weight", {2 * hidden, d}});
            list.push_back({p + "mlp.w12.bias", {2 * hidden}});
            list.push_back({p + "mlp.w3.weight", {d, hidden}});
            list.push_back({p + "mlp.w3.bias", {d}});
        } else {
            list.push_back({p + "mlp.fc1.weight", {hidden, d}});
            list.push_back({p + "mlp.fc1.bias", {hidden}});
            list.push_back({p + "mlp.fc2.weight", {d, hidden}});
            list.push_back({p + "mlp.fc2.bias", {d}});
        }
        if (c.layerscale) {
            list.push_back({p + "ls1.gamma", {d}});
            list.push_back({p + "ls2.gamma", {d}});
        }
    }
    return list;
}

// By value: a Tensor copy is a reference-count increment, and a reference bound to a lookup
// with a temporary name is what gcc 13 flags as possibly dangling.
at::Tensor weight(const dfs_vit &vit, const std::string &name) {
    auto found = vit.weights.find(name);
    TORCH_CHECK(found != vit.weights.end(), "weight '", name, "' was never set");
    return found->second;
}

// The stored position embedding, resampled to the grid (pos_embed itself when it matches).
at::Tensor interpolate_pos_embed(const dfs_vit &vit, int64_t gh, int64_t gw, int variant) {
    return dfs::resample_pos_embed(weight(vit, "pos_embed"), vit.config.pos_grid, gh, gw, variant);
}

// Centre-crop (default) or zero-pad at bottom/right so that patches at the stride cover the image;
// DFS_COVER_NONE leaves the remainder to the convolution, which ignores it.
at::Tensor cover(const at::Tensor &images, int64_t patch, int64_t stride, int mode) {
    const int64_t h = images.size(2), w = images.size(3);
    TORCH_CHECK(h >= patch && w >= patch, "the image (", h, " x ", w, ") is smaller than one patch (", patch, ")");
    if (mode == DFS_COVER_NONE) return images;
    if (mode == DFS_COVER_PAD) {
        const int64_t ph = patch + stride * ((h - patch + stride - 1) / stride);
        const int64_t pw = patch + stride * ((w - patch + stride - 1) / stride);
        if (ph == h && pw == w) return images;
        return at::constant_pad_nd(images, {0, pw - w, 0, ph - h}, 0);
    }
    const int64_t ch = patch + stride * ((h - patch) / stride), cw = patch + stride * ((w - patch) / stride);
    const int64_t top = dfs::centre_offset(h - ch), left = dfs::centre_offset(w - cw);
    return images.slice(2, top, top + ch).slice(3, left, left + cw);
}

// cuDNN convolutions default to TF32 on Ampere and later, about 1e-3 off in float32: a float32
// model computes in float32. The process-wide flag is restored when the forward pass ends.
class exact_float32_guard {
  public:
    explicit exact_float32_guard(bool active) : active_(active) {
        if (!active_) return;
        saved_ = at::globalContext().allowTF32CuDNN();
        at::globalContext().setAllowTF32CuDNN(false);
    }
    ~exact_float32_guard() {
        if (active_) at::globalContext().setAllowTF32CuDNN(saved_);
    }
    exact_float32_guard(const exact_float32_guard &) = delete;
    exact_float32_guard &operator=(const exact_float32_guard &) = delete;

  private:
    bool active_, saved_ = false;
};

struct block_outputs {
    at::Tensor qkv;            // (B, N, 3D), bias included
    at::Tensor cls_attention;  // (B, heads, N)
};

at::Tensor norm(const dfs_vit &vit, const at::Tensor &x, const std::string &prefix) {
    return dfs::layer_norm(x, vit.config.dim, weight(vit, prefix + ".weight"), weight(vit, prefix + ".bias"),
                           kLayerNormEps);
}

at::Tensor mlp(const dfs_vit &vit, const at::Tensor &x, const std::string &p) {
    if (vit.config.swiglu) {
        auto halves = dfs::linear(x, weight(vit, p + "w12.weight"), weight(vit, p + "w12.bias")).chunk(2, -1);
        return dfs::linear(at::silu(halves[0]) * halves[1], weight(vit, p + "w3.weight"), weight(vit, p + "w3.bias"));
    }
    at::Tensor hidden = dfs::linear(x, weight(vit, p + "fc1.weight"), weight(vit, p + "fc1.bias"));
    // outside autograd in place: the widest tensor of the block is then written once, not twice
    hidden = at::GradMode::is_enabled() ? at::gelu(hidden) : at::gelu_(hidden);
    return dfs::linear(hidden, weight(vit, p + "fc2.weight"), weight(vit, p + "fc2.bias"));
}

// x + ls2 * mlp(norm2(x)). Outside autograd and above kMlpRows tokens, in place over blocks of
// rows: the hidden activations (four times the width, twice) then never exist for more than
// kMlpRows tokens at once, which is most of a long sequence's peak memory.
constexpr int64_t kMlpRows = 4096;

at::Tensor mlp_residual(const dfs_vit &vit, at::Tensor x, const std::string &p) {
    const bool graph = at::GradMode::is_enabled();
    const auto scaled = [&](at::Tensor y) {
        if (!vit.config.layerscale) return y;
        return graph ? weight(vit, p + "ls2.gamma") * y : y.mul_(weight(vit, p + "ls2.gamma"));
    };
    const int64_t rows = x.size(0) * x.size(1);
    if (graph && x.requires_grad()) return x + scaled(mlp(vit, norm(vit, x, p + "norm2"), p + "mlp."));
    if (rows <= kMlpRows || !x.is_contiguous())
        return x.add_(scaled(mlp(vit, norm(vit, x, p + "norm2"), p + "mlp.")));
    at::Tensor flat = x.view({rows, x.size(2)});
    for (int64_t start = 0; start < rows; start += kMlpRows) {
        at::Tensor part = flat.narrow(0, start, std::min(kMlpRows, rows - start));
        part.add_(scaled(mlp(vit, norm(vit, part, p + "norm2"), p + "mlp.")));
    }
    return x;
}

// One block. qkv is released once attended, the attended values once projected, so that the
// attention's, the projection's and the MLP's peaks do not add up.
at::Tensor run_block(const dfs_vit &vit, at::Tensor x, int index, const dfs_vit_run &run, bool keep,
                     block_outputs *kept) {
    const std::string p = "blocks." + std::to_string(index) + ".";
    const int64_t b = x.size(0), n = x.size(1), d = vit.config.dim, heads = run.heads, hd = d / heads;
    at::Tensor attended;
    {
        at::Tensor qkv = dfs::linear(norm(vit, x, p + "norm1"), weight(vit, p + "attn.qkv.weight"),
                                    weight(vit, p + "attn.qkv.bias"));
        at::Tensor split = qkv.reshape({b, n, 3, heads, hd}).permute({2, 0, 3, 1, 4});
        const double scale = std::pow(static_cast<double>(hd), -0.5);
        if (keep) {
            kept->qkv = qkv;
            // Only the [CLS] row of the last attention is an output: recompute it alone.
            kept->cls_attention =
                at::softmax(dfs::matmul(split[0].slice(2, 0, 1), split[1].transpose(-2, -1)) * scale, -1).squeeze(2);
        }
        attended = dfs::attend(split[0], split[1], split[2], scale, run.attn_chunk);
    }
    at::Tensor y = dfs::linear(attended.transpose(1, 2).reshape({b, n, d}), weight(vit, p + "attn.proj.weight"),
                              weight(vit, p + "attn.proj.bias"));
    attended.reset();
    if (at::GradMode::is_enabled()) {
        if (vit.config.layerscale) y = weight(vit, p + "ls1.gamma") * y;
        return mlp_residual(vit, x + y, p);
    }
    if (vit.config.layerscale) y.mul_(weight(vit, p + "ls1.gamma"));
    return mlp_residual(vit, x.add_(y), p);  // x is this block's own: the forward made it
}

}  // namespace

namespace dfs {

// The patch part of pos_embed resampled to gh x gw, in float32 whatever the model's precision,
// with the very ATen calls F.interpolate makes for each variant; differentiable.
at::Tensor resample_pos_embed(const at::Tensor &pos, int64_t m, int64_t gh, int64_t gw, int variant) {
    const int64_t d = pos.size(2);
    if (gh == m && gw == m) return pos;
    at::Tensor grid = pos.slice(1, 1).to(at::kFloat).reshape({1, m, m, d}).permute({0, 3, 1, 2});
    at::Tensor resized;
    if (variant == DFS_POS_OFFSET) {
        std::vector<double> scales = {(static_cast<double>(gh) + 0.1) / static_cast<double>(m),
                                      (static_cast<double>(gw) + 0.1) / static_cast<double>(m)};
        resized = at::upsample_bicubic2d(grid, c10::nullopt, false, at::ArrayRef<double>(scales));
    } else if (variant == DFS_POS_SIZE_AA) {
        resized = at::_upsample_bicubic2d_aa(grid, at::IntArrayRef({gh, gw}), false, c10::nullopt);
    } else {
        resized = at::upsample_bicubic2d(grid, at::IntArrayRef({gh, gw}), false, c10::nullopt);
    }
    TORCH_CHECK(resized.size(2) == gh && resized.size(3) == gw, "position embedding resampled to ",
                resized.size(2), " x ", resized.size(3), ", expected ", gh, " x ", gw);
    resized = resized.permute({0, 2, 3, 1}).reshape({1, gh * gw, d}).to(pos.scalar_type());
    return at::cat({pos.slice(1, 0, 1), resized}, 1);
}

const dfs_vit_config &vit_config(const dfs_vit &vit) { return vit.config; }
at::Device vit_device(const dfs_vit &vit) { return vit.device; }
c10::ScalarType vit_dtype(const dfs_vit &vit) { return vit.dtype; }

std::vector<std::pair<std::string, at::Tensor>> vit_weights(const dfs_vit &vit) {
    std::vector<std::pair<std::string, at::Tensor>> list;
    for (const auto &expected : vit.expected) list.emplace_back(expected.first, weight(vit, expected.first));
    return list;
}

std::vector<at::Tensor> vit_forward(const dfs_vit &vit_ref, const at::Tensor &input, const dfs_vit_run &run_ref) {
    const dfs_vit *vit = &vit_ref;
    const dfs_vit_run *run = &run_ref;
    c10::NoGradGuard no_grad;
    exact_float32_guard exact(vit->device.is_cuda() && vit->dtype == at::kFloat);
    const auto &c = vit->config;
    TORCH_CHECK(run->heads > 0 && c.dim % run->heads == 0, "dim ", c.dim, " is not divisible by ", run->heads, " heads");
    const int64_t stride = run->stride > 0 ? run->stride : c.patch;
    TORCH_CHECK(input.dim() == 4 && input.size(1) == 3, "images must have shape (B, 3, H, W), got ", input.sizes());
    at::Tensor x = cover(input.to(vit->device, vit->dtype), c.patch, stride, run->cover);
    at::Tensor tokens = dfs::conv2d(x, weight(*vit, "patch_embed.proj.weight"), weight(*vit, "patch_embed.proj.bias"),
                                    stride);
    const int64_t b = tokens.size(0), gh = tokens.size(2), gw = tokens.size(3), r = c.registers;
    x = at::cat({weight(*vit, "cls_token").expand({b, -1, -1}), tokens.flatten(2).transpose(1, 2)}, 1);
    tokens.reset();  // not held through the blocks: at stride 4 on 518 x 518 it is 25 MB
    x.add_(interpolate_pos_embed(*vit, gh, gw, run->pos_interp).to(vit->dtype));
    if (r > 0) x = at::cat({x.slice(1, 0, 1), weight(*vit, "register_tokens").expand({b, -1, -1}), x.slice(1, 1)}, 1);

    std::vector<at::Tensor> results(static_cast<size_t>(DFS_VIT_OUT_FIRST_LAYER + run->layer_count));
    block_outputs last;
    const bool wants_last = run->outputs & ((1u << DFS_VIT_OUT_CLS_ATTENTION) | (1u << DFS_VIT_OUT_Q) |
                                            (1u << DFS_VIT_OUT_K) | (1u << DFS_VIT_OUT_V));
    for (int i = 0; i < c.depth; i++) {
        x = run_block(*vit, x, i, *run, wants_last && i == c.depth - 1, &last);
        for (int32_t l = 0; l < run->layer_count; l++)
            if (run->layers[l] == i)
                results[static_cast<size_t>(DFS_VIT_OUT_FIRST_LAYER + l)] =
                    norm(*vit, x, "norm").slice(1, 1 + r).reshape({b, gh, gw, c.dim});
    }
    x = norm(*vit, x, "norm");
    auto wanted = [&](int slot) { return (run->outputs & (1u << slot)) != 0; };
    if (wanted(DFS_VIT_OUT_PATCH)) results[DFS_VIT_OUT_PATCH] = x.slice(1, 1 + r).reshape({b, gh, gw, c.dim});
    if (wanted(DFS_VIT_OUT_CLS)) results[DFS_VIT_OUT_CLS] = x.select(1, 0);
    if (wanted(DFS_VIT_OUT_REGISTERS)) results[DFS_VIT_OUT_REGISTERS] = x.slice(1, 1, 1 + r);
    if (wants_last) {
        if (wanted(DFS_VIT_OUT_CLS_ATTENTION))
            results[DFS_VIT_OUT_CLS_ATTENTION] = last.cls_attention.slice(2, 1 + r).reshape({b, run->heads, gh, gw});
        auto qkv = last.qkv.chunk(3, -1);
        for (int k = 0; k < 3; k++)
            if (wanted(DFS_VIT_OUT_Q + k)) results[static_cast<size_t>(DFS_VIT_OUT_Q + k)] = qkv[static_cast<size_t>(k)];
    }
    return results;
}

}  // namespace dfs

extern "C" {

df_status dfs_vit_create(const dfs_vit_config *config, df_device_type device_type, int32_t device_id,
                         df_dtype precision, dfs_vit **out) noexcept {
    DFS_FENCE({
        auto vit = std::make_unique<dfs_vit>();
        vit->config = *config;
        vit->expected = expected_weights(*config);
        vit->device = dfs::device_of(device_type, device_id);
        vit->dtype = dfs::scalar_type(precision);
        *out = vit.release();
        return DF_OK;
    });
}

df_status dfs_vit_set_weight(dfs_vit *vit, const char *name, const float *data, int32_t ndim,
                             const int64_t *shape) noexcept {
    DFS_FENCE({
        const std::vector<int64_t> sizes(shape, shape + ndim);
        for (const auto &expected : vit->expected) {
            if (expected.first != name) continue;
            TORCH_CHECK(expected.second == sizes, "weight '", name, "' has shape ", at::IntArrayRef(sizes),
                        ", expected ", at::IntArrayRef(expected.second));
            at::Tensor host = at::from_blob(const_cast<float *>(data), sizes, at::TensorOptions().dtype(at::kFloat));
            // pos_embed stays float32: it is resampled in float32 whatever the precision.
            auto dtype = expected.first == "pos_embed" ? at::kFloat : vit->dtype;
            vit->weights[name] = host.to(vit->device, dtype, false, true);
            return DF_OK;
        }
        return dfs::fail(DF_E_FORMAT, std::string("'") + name + "' is not a weight of this architecture");
    });
}

int32_t dfs_vit_weight_count(const dfs_vit *vit) noexcept { return static_cast<int32_t>(vit->expected.size()); }

df_status dfs_vit_weight_spec(const dfs_vit *vit, int32_t index, const char **name, int32_t *ndim,
                              int64_t *shape) noexcept {
    if (index < 0 || static_cast<size_t>(index) >= vit->expected.size())
        return dfs::fail(DF_E_INVALID_ARG, "weight index out of range");
    const auto &spec = vit->expected[static_cast<size_t>(index)];
    *name = spec.first.c_str();
    *ndim = static_cast<int32_t>(spec.second.size());
    for (size_t i = 0; i < spec.second.size(); i++) shape[i] = spec.second[i];
    return DF_OK;
}

df_status dfs_vit_check_complete(const dfs_vit *vit) noexcept {
    DFS_FENCE({
        for (const auto &expected : vit->expected)
            if (!vit->weights.count(expected.first))
                return dfs::fail(DF_E_FORMAT, "the checkpoint lacks '" + expected.first + "'");
        return DF_OK;
    });
}

df_status dfs_vit_forward(dfs_vit *vit, const dfs_tensor_desc *images, const dfs_vit_run *run,
                          dfs_tensor **outs, dfs_tensor_desc *descs) noexcept {
    DFS_FENCE({
        std::vector<at::Tensor> results = dfs::vit_forward(*vit, dfs::view_of(*images), *run);
        for (size_t k = 0; k < results.size(); k++) {
            outs[k] = nullptr;
            if (!results[k].defined()) continue;
            df_status status = dfs::hand_out(results[k].contiguous(), &outs[k], &descs[k]);
            if (status != DF_OK) return status;
        }
        return DF_OK;
    });
}

void dfs_vit_free(dfs_vit *vit) noexcept { delete vit; }

}  // extern "C"
