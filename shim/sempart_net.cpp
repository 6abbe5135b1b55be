// The Sempart network (specs/sempart.md) and its Adam trainer: an encoder (projection, [CLS],
// position embedding, one pre-norm transformer block) over frozen backbone features, a coarse
// branch (1 x 1 convolution, sigmoid) on the patch grid, and a fine branch that upsamples 8x
// through convolution blocks (BatchNorm, LeakyReLU), concatenating the resized image at each scale.
#include "adam.hpp"
#include "distributed.hpp"
#include "fence.hpp"
#include "products.hpp"
#include "sempart_internal.hpp"
#include "tensor_util.hpp"
#include "sempart_shim.h"

#include <c10/core/GradMode.h>

#include <cstring>
#include <vector>

struct dfs_sempart {
    dfs_sempart_config config;
    std::vector<at::Tensor> states, first, second; // values (parameters, then buffers), Adam's m and v
    int64_t steps = 0;
    int64_t adam_steps[DFS_SEMPART_PARAMETERS] = {}; // each parameter's updates (Adam's bias correction)
    std::vector<char> with_gradient;                  // the last data-parallel step's (dist_reducer)
};

namespace {

const char *const state_names[DFS_SEMPART_STATES] = {
    "encoder.proj.weight", "encoder.proj.bias", "encoder.cls_token", "encoder.pos_embed", "encoder.norm1.weight",
    "encoder.norm1.bias", "encoder.attn.qkv.weight", "encoder.attn.qkv.bias", "encoder.attn.proj.weight",
    "encoder.attn.proj.bias", "encoder.norm2.weight", "encoder.norm2.bias", "encoder.mlp.fc1.weight",
    "encoder.mlp.fc1.bias", "encoder.mlp.fc2.weight", "encoder.mlp.fc2.bias", "coarse.weight", "coarse.bias",
    "fine.block1.conv.weight", "fine.block1.bn.weight", "fine.block1.bn.bias", "fine.block2.conv.weight",
    "fine.block2.bn.weight", "fine.block2.bn.bias", "fine.block3.conv.weight", "fine.block3.bn.weight",
    "fine.block3.bn.bias", "fine.block4.conv.weight", "fine.block4.bn.weight", "fine.block4.bn.bias",
    "fine.out.weight", "fine.out.bias", "fine.block1.bn.running_mean", "fine.block1.bn.running_var",
    "fine.block2.bn.running_mean", "fine.block2.bn.running_var", "fine.block3.bn.running_mean",
    "fine.block3.bn.running_var", "fine.block4.bn.running_mean", "fine.block4.bn.running_var"};

// The fine branch's blocks: input and output channels (the image adds 3 at each scale).
const int64_t block_in[4] = {0, 192 + 3, 128 + 3, 128}, block_out[4] = {192, 128, 128, 128};
const int32_t first_block = 18; // each block: conv.weight, bn.weight, bn.bias

struct state_spec {
    std::vector<int64_t> shape;
    int32_t init;
    int64_t fan_in;
};

state_spec spec_of(const dfs_sempart_config &c, int32_t index) {
    const int64_t e = c.width, tokens = c.grid_height * c.grid_width + 1;
    if (index >= first_block && index < first_block + 12) {
        const int block = (index - first_block) / 3, part = (index - first_block) % 3;
        const int64_t in = block == 0 ? e + 3 : block_in[block], out = block_out[block];
        if (part == 0) return {{out, in, 3, 3}, DFS_INIT_UNIFORM, in * 9};
        return {{out}, part == 1 ? DFS_INIT_ONES : DFS_INIT_ZEROS, 0};
    }
    if (index >= DFS_SEMPART_PARAMETERS) // running mean, running var of each block's BatchNorm
        return {{block_out[(index - DFS_SEMPART_PARAMETERS) / 2]}, index % 2 == 0 ? DFS_INIT_ZEROS : DFS_INIT_ONES, 0};
    switch (index) {
    case 0: return {{e, c.dim}, DFS_INIT_UNIFORM, c.dim};
    case 1: return {{e}, DFS_INIT_UNIFORM, c.dim};
    case 2: return {{1, 1, e}, DFS_INIT_NORMAL, 0};
    case 3: return {{1, tokens, e}, DFS_INIT_NORMAL, 0};
    case 4: case 10: return {{e}, DFS_INIT_ONES, 0};
    case 5: case 11: return {{e}, DFS_INIT_ZEROS, 0};
    case 6: return {{3 * e, e}, DFS_INIT_UNIFORM, e};
    case 7: return {{3 * e}, DFS_INIT_UNIFORM, e};
    case 8: return {{e, e}, DFS_INIT_UNIFORM, e};
    case 9: return {{e}, DFS_INIT_UNIFORM, e};
    case 12: return {{4 * e, e}, DFS_INIT_UNIFORM, e};
    case 13: return {{4 * e}, DFS_INIT_UNIFORM, e};
    case 14: return {{e, 4 * e}, DFS_INIT_UNIFORM, 4 * e};
    case 15: return {{e}, DFS_INIT_UNIFORM, 4 * e};
    case 16: return {{1, e, 1, 1}, DFS_INIT_UNIFORM, e};
    case 17: return {{1}, DFS_INIT_UNIFORM, e};
    case 30: return {{1, 128 + 3, 1, 1}, DFS_INIT_UNIFORM, 128 + 3};
    default: return {{1}, DFS_INIT_UNIFORM, 128 + 3};
    }
}

// t in the network's compute precision: a bfloat16 copy (the gradient flows back to the float32
// master weights through the cast), or t itself.
at::Tensor low(const dfs_sempart &s, const at::Tensor &t) {
    return s.config.precision == DF_DTYPE_BFLOAT16 && t.defined() ? t.to(at::kBFloat16) : t;
}

// The products in the compute precision, their results in float32.
at::Tensor linear(const dfs_sempart &s, const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias) {
    return dfs::linear(low(s, x), low(s, weight), low(s, bias)).to(at::kFloat);
}
at::Tensor matmul(const dfs_sempart &s, const at::Tensor &a, const at::Tensor &b) {
    return dfs::matmul(low(s, a), low(s, b)).to(at::kFloat);
}
at::Tensor conv(const dfs_sempart &s, const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias,
                int64_t padding = 0) {
    return dfs::conv2d(low(s, x), low(s, weight), low(s, bias), 1, padding).to(at::kFloat);
}

// The encoder's patch tokens F~ (B, E, h, w) of features (B, h, w, D).
at::Tensor encode(const dfs_sempart &s, const at::Tensor &features) {
    const auto &p = s.states;
    const int64_t b = features.size(0), h = features.size(1), w = features.size(2), e = s.config.width;
    const int64_t heads = s.config.heads, head_dim = e / heads;
    at::Tensor x = linear(s, features.reshape({b, h * w, -1}), p[0], p[1]);
    x = at::cat({p[2].expand({b, 1, e}), x}, 1) + p[3];
    at::Tensor y = dfs::layer_norm(x, e, p[4], p[5], 1e-5);
    at::Tensor qkv = linear(s, y, p[6], p[7]).reshape({b, -1, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
    at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
    at::Tensor attention = at::softmax(matmul(s, q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(head_dim))), -1);
    at::Tensor mixed = matmul(s, attention, v).transpose(1, 2).reshape({b, -1, e});
    x = x + linear(s, mixed, p[8], p[9]);
    y = dfs::layer_norm(x, e, p[10], p[11], 1e-5);
    x = x + linear(s, at::gelu(linear(s, y, p[12], p[13])), p[14], p[15]);
    return x.narrow(1, 1, h * w).transpose(1, 2).reshape({b, e, h, w});
}

at::Tensor resized(const at::Tensor &x, int64_t height, int64_t width) {
    if (x.size(2) == height && x.size(3) == width) return x;
    return at::upsample_bilinear2d(x, {height, width}, false);
}

// BatchNorm in training over the whole batch of every rank, as torch.nn.SyncBatchNorm: per channel
// each rank's count n, n mean and its sum of squares about the whole mean's parts (n mean^2 + the
// squares about its own mean, in float64) summed over the ranks; the running statistics updated
// with the whole batch's mean and unbiased variance.
at::Tensor synced_batch_norm(const at::Tensor &y, const at::Tensor &weight, const at::Tensor &bias,
                             const at::Tensor &running_mean, const at::Tensor &running_var) {
    const int64_t c = y.size(1);
    const double n = static_cast<double>(y.numel() / c);
    const at::Tensor mean = y.mean({0, 2, 3});
    const at::Tensor squares = (y - mean.view({1, c, 1, 1})).square().sum({0, 2, 3});
    const at::Tensor m = mean.to(at::kDouble);
    const at::Tensor count = at::full({1}, n, m.options());
    const at::Tensor total = dfs::dist_sum(at::cat({m * n, squares.to(at::kDouble) + m.square() * n, count}), y.size(0));
    const double whole = total[2 * c].item<double>();
    const at::Tensor whole_mean = total.narrow(0, 0, c) / whole;
    const at::Tensor variance = total.narrow(0, c, c) / whole - whole_mean.square(); // biased, as normalisation takes it
    {
        c10::NoGradGuard no_grad;
        running_mean.mul_(0.9).add_(whole_mean.to(at::kFloat), 0.1);
        running_var.mul_(0.9).add_((variance * (whole / (whole - 1))).to(at::kFloat), 0.1);
    }
    const at::Tensor scale = (variance + 1e-5).rsqrt().to(at::kFloat) * weight;
    const at::Tensor shift = bias - whole_mean.to(at::kFloat) * scale;
    return y * scale.view({1, c, 1, 1}) + shift.view({1, c, 1, 1});
}

// Block(c_in, c_out): 3 x 3 convolution (no bias: BatchNorm would cancel it, and Adam would turn
// its zero gradient's rounding noise into steps) -> BatchNorm -> LeakyReLU(0.01), of x with the
// image (undefined for none) concatenated; mode 0 eval, 1 batch statistics without updating the
// running ones, 2 training (updating them; over every rank's batch in a process group). Written
// for speed on CPU, the same function as the spec's: the convolution of the concatenation is the sum of two convolutions (no copy of the
// large maps, no gradient for the image), channels-last (libtorch's CPU convolution is about 1.5x
// faster so at these sizes), the activation in place (no second large map).
at::Tensor block(const dfs_sempart &s, int index, const at::Tensor &x, const at::Tensor &image, int mode) {
    const auto &p = s.states;
    const int first = first_block + 3 * index, buffer = DFS_SEMPART_PARAMETERS + 2 * index;
    const auto last = at::MemoryFormat::ChannelsLast;
    const int64_t c = x.size(1);
    at::Tensor y = conv(s, x.contiguous(last), p[first].narrow(1, 0, c).contiguous(last), {}, 1);
    if (image.defined()) y.add_(conv(s, image.contiguous(last), p[first].narrow(1, c, image.size(1)).contiguous(last), {}, 1));
    at::Tensor mean = p[buffer], var = p[buffer + 1];
    if (mode == 1) mean = mean.clone(), var = var.clone();
    if (mode == 2 && dfs::dist_active()) y = synced_batch_norm(y, p[first + 1], p[first + 2], mean, var);
    else y = at::batch_norm(y, p[first + 1], p[first + 2], mean, var, mode != 0, 0.1, 1e-5, false);
    return at::leaky_relu_(y, 0.01);
}

// A 1 x 1 convolution with one output channel of cat(x, image), as two.
at::Tensor output_conv(const dfs_sempart &s, const at::Tensor &x, const at::Tensor &image, const at::Tensor &weight,
                       const at::Tensor &bias) {
    const int64_t c = x.size(1);
    return conv(s, x, weight.narrow(1, 0, c), bias) + conv(s, image, weight.narrow(1, c, image.size(1)), {});
}

struct masks {
    at::Tensor coarse, fine; // (B, h, w), (B, 8h, 8w)
    at::Tensor image;        // the images at the fine mask's size, as the fine branch saw them
};

// The coarse and fine masks of features (B, h, w, D) and images (B, 3, H, W); with separate
// branches (config.joint 0) the fine branch sees the encoder's output detached. fine 0 skips the
// fine branch; encoder_grad 0 runs the encoder and the coarse branch without gradient.
masks forward(const dfs_sempart &s, const at::Tensor &features, const at::Tensor &images, int mode, bool fine = true,
              bool encoder_grad = true) {
    const auto &p = s.states;
    const int64_t h = features.size(1), w = features.size(2);
    TORCH_CHECK(features.dim() == 4 && h == s.config.grid_height && w == s.config.grid_width &&
                    features.size(3) == s.config.dim,
                "features must be (B, ", s.config.grid_height, ", ", s.config.grid_width, ", ", s.config.dim, ")");
    TORCH_CHECK(images.dim() == 4 && images.size(0) == features.size(0) && images.size(1) == 3,
                "images must be (B, 3, H, W) for the features' B");
    masks out;
    at::Tensor tokens;
    {
        c10::AutoGradMode mode_guard(encoder_grad && c10::GradMode::is_enabled());
        tokens = encode(s, features);
        out.coarse = at::sigmoid(conv(s, tokens, p[16], p[17])).squeeze(1);
    }
    if (!fine) return out;
    at::Tensor x = s.config.joint ? tokens : tokens.detach();
    for (int i = 0; i < 2; i++) {
        const int64_t scale = int64_t(2) << i;
        x = block(s, i, resized(x, scale * h, scale * w), resized(images, scale * h, scale * w), mode);
    }
    out.image = resized(images, 8 * h, 8 * w);
    x = block(s, 2, resized(x, 8 * h, 8 * w), out.image, mode);
    out.fine = at::sigmoid(output_conv(s, block(s, 3, x, at::Tensor(), mode), out.image, p[30], p[31])).squeeze(1);
    return out;
}

at::Device device_of(const dfs_sempart &s) { return dfs::device_of(s.config.device_type, s.config.device_id); }

// A caller's tensor, as float32 on the network's device.
at::Tensor float_input(const dfs_sempart &s, const dfs_tensor_desc *desc) {
    return dfs::view_of(*desc).to(device_of(s), at::kFloat);
}

}  // namespace

extern "C" const char *dfs_sempart_state_info(const dfs_sempart_config *config, int32_t index, int64_t *numel,
                                              int32_t *init, int64_t *fan_in) noexcept {
    if (index < 0 || index >= DFS_SEMPART_STATES) return nullptr;
    state_spec spec = spec_of(*config, index);
    int64_t n = 1;
    for (int64_t v : spec.shape) n *= v;
    if (numel) *numel = n;
    if (init) *init = spec.init;
    if (fan_in) *fan_in = spec.fan_in;
    return state_names[index];
}

extern "C" df_status dfs_sempart_create(const dfs_sempart_config *config, const float *const *initial,
                                        dfs_sempart **out) noexcept {
    DFS_FENCE({
        TORCH_CHECK(config->width % config->heads == 0, "the encoder width must be a multiple of its heads");
        auto s = std::make_unique<dfs_sempart>();
        s->config = *config;
        const at::Device device = device_of(*s);
        for (int32_t i = 0; i < DFS_SEMPART_STATES; i++) {
            const at::Tensor host = at::from_blob(const_cast<float *>(initial[i]), spec_of(*config, i).shape, at::kFloat);
            at::Tensor v = device.is_cpu() ? host.clone() : host.to(device);
            s->states.push_back(i < DFS_SEMPART_PARAMETERS ? v.set_requires_grad(true) : v);
            if (i < DFS_SEMPART_PARAMETERS) {
                s->first.push_back(at::zeros_like(v));
                s->second.push_back(at::zeros_like(v));
            }
        }
        *out = s.release();
        return DF_OK;
    });
}

extern "C" void dfs_sempart_free(dfs_sempart *sempart) noexcept { delete sempart; }

extern "C" df_status dfs_sempart_state(const dfs_sempart *s, int32_t index, int32_t which, float *values,
                                       int32_t write) noexcept {
    DFS_FENCE({
        TORCH_CHECK(index >= 0 && index < DFS_SEMPART_STATES && which >= 0 && which < 3 &&
                        (which == 0 || index < DFS_SEMPART_PARAMETERS),
                    "no such state");
        const at::Tensor &t = which == 0 ? s->states[index] : which == 1 ? s->first[index] : s->second[index];
        c10::NoGradGuard no_grad;
        at::Tensor host = at::from_blob(values, t.sizes(), at::kFloat);
        if (write) t.copy_(host);
        else host.copy_(t);
        return DF_OK;
    });
}

extern "C" int64_t dfs_sempart_steps(const dfs_sempart *s) noexcept { return s->steps; }
extern "C" void dfs_sempart_set_steps(dfs_sempart *s, int64_t steps) noexcept { s->steps = steps; }

extern "C" df_status dfs_sempart_to(dfs_sempart *s, df_device_type device_type, int32_t device_id) noexcept {
    DFS_FENCE({
        const at::Device device = dfs::device_of(device_type, device_id);
        c10::NoGradGuard no_grad;
        for (int32_t i = 0; i < DFS_SEMPART_STATES; i++)
            s->states[i] = i < DFS_SEMPART_PARAMETERS ? s->states[i].detach().to(device).requires_grad_(true)
                                                      : s->states[i].to(device);
        for (auto &m : s->first) m = m.to(device);
        for (auto &v : s->second) v = v.to(device);
        s->config.device_type = device_type, s->config.device_id = device_id;
        return DF_OK;
    });
}
extern "C" void dfs_sempart_set_branches(dfs_sempart *s, int32_t branches) noexcept { s->config.branches = branches; }

extern "C" df_status dfs_sempart_step(dfs_sempart *s, const dfs_tensor_desc *features, const dfs_tensor_desc *images,
                                      double losses[5]) noexcept {
    DFS_FENCE({
        c10::AutoGradMode grad(true);
        at::Tensor f = float_input(*s, features), x = float_input(*s, images);
        for (int32_t i = 0; i < DFS_SEMPART_PARAMETERS; i++) s->states[i].mutable_grad() = at::Tensor();
        const auto &c = s->config;
        const bool coarse_on = c.branches & 1, fine_on = c.branches & 2;
        masks m = forward(*s, f, x, 2, fine_on, coarse_on);
        at::Tensor zero = at::zeros({}, f.options());
        at::Tensor terms[4] = {dfs::ncut_loss(m.coarse, f, c.tau, c.eps), dfs::gtv_coarse_loss(m.coarse, f, c.eps), zero,
                               zero};
        at::Tensor total = coarse_on ? terms[0] + c.weight_gtv_coarse * terms[1] : zero;
        if (fine_on) {
            terms[2] = dfs::gtv_fine_loss(m.fine, m.image, c.sigma);
            terms[3] = dfs::sr_loss(m.fine, c.joint && coarse_on ? m.coarse : m.coarse.detach());
            total = total + c.weight_gtv_fine * terms[2] + c.weight_sr * terms[3];
        }
        // data-parallel: every rank steps with the whole batch's gradient, averaged during backward
        dfs::dist_reducer reducer(std::vector<at::Tensor>(s->states.begin(), s->states.begin() + DFS_SEMPART_PARAMETERS),
                                  f.size(0), s->with_gradient);
        total.backward();
        std::vector<double> values = {terms[0].item<double>(), terms[1].item<double>(), terms[2].item<double>(),
                                      terms[3].item<double>(), total.item<double>()};
        reducer.finish(&values);
        s->with_gradient = reducer.arrived();
        s->steps++;
        // as torch.optim.Adam: a parameter without a gradient is left alone, and each keeps its
        // own step count (its bias correction), so switching branches on and off stays PyTorch's
        for (int32_t i = 0; i < DFS_SEMPART_PARAMETERS; i++)
            if (s->states[i].grad().defined())
                dfs::adam_update(s->states[i], s->first[i], s->second[i], ++s->adam_steps[i], c.lr, 0.9, 0.999,
                                 c.adam_eps);
        for (int i = 0; i < 5; i++) losses[i] = values[static_cast<size_t>(i)];
        return DF_OK;
    });
}

extern "C" df_status dfs_sempart_adam_steps(dfs_sempart *s, int64_t *steps, int32_t write) noexcept {
    DFS_FENCE({
        for (int32_t i = 0; i < DFS_SEMPART_PARAMETERS; i++)
            if (write) s->adam_steps[i] = steps[i];
            else steps[i] = s->adam_steps[i];
        return DF_OK;
    });
}

extern "C" df_status dfs_sempart_forward(const dfs_sempart *s, const dfs_tensor_desc *features,
                                         const dfs_tensor_desc *images, int32_t training, dfs_tensor **coarse,
                                         dfs_tensor_desc *coarse_desc, dfs_tensor **fine,
                                         dfs_tensor_desc *fine_desc) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        masks m = forward(*s, float_input(*s, features), float_input(*s, images), training ? 1 : 0);
        df_status status = dfs::hand_out(m.coarse.contiguous(), coarse, coarse_desc);
        if (status == DF_OK) status = dfs::hand_out(m.fine.contiguous(), fine, fine_desc);
        return status;
    });
}
