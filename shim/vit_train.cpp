// The differentiable ViT of shim/vit_train.hpp: DINO / DINOv2 blocks as the official code trains
// them (timm-style DropPath on each residual branch, per sample, scaled by 1 / keep).
#include "vit_train.hpp"

#include "attention.hpp"
#include "vit_internal.hpp"

#include <cmath>

namespace dfs {

uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double uniform53(uint64_t *state) { return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53; }

double keyed_uniform(uint64_t stream, int64_t a, int64_t b, int64_t c) {
    uint64_t state = stream;
    for (int64_t key : {a, b, c}) {
        state ^= static_cast<uint64_t>(key) * 0xD1B54A32D192ED03ull;
        splitmix64(&state);
    }
    return uniform53(&state);
}

}  // namespace dfs

namespace {

constexpr double kLayerNormEps = 1e-6;

at::Tensor get(const dfs::vit_parameters &p, const std::string &name) {
    auto found = p.find(name);
    TORCH_CHECK(found != p.end(), "parameter '", name, "' is missing");
    return found->second;
}

at::Tensor norm(const dfs::vit_parameters &p, const at::Tensor &x, const std::string &prefix) {
    return at::layer_norm(x, {x.size(-1)}, get(p, prefix + ".weight"), get(p, prefix + ".bias"), kLayerNormEps);
}

// Each sample's branch kept with probability 1 - rate (then scaled by 1 / (1 - rate)), else zeroed;
// sample k's draw is keyed by its index in the whole batch, the pass and the branch.
at::Tensor drop_path(const at::Tensor &branch, double rate, const dfs::vit_train_run &run, int64_t branch_id) {
    if (rate <= 0) return branch;
    const double keep = 1 - rate;
    std::vector<float> mask(static_cast<size_t>(branch.size(0)));
    for (size_t k = 0; k < mask.size(); k++) {
        const int64_t sample = k < run.sample_index.size() ? run.sample_index[k] : static_cast<int64_t>(k);
        mask[k] = dfs::keyed_uniform(run.stream, run.pass, branch_id, sample) < keep ? static_cast<float>(1 / keep) : 0.0f;
    }
    at::Tensor scale = at::tensor(mask).to(branch.options()).view({branch.size(0), 1, 1});
    return branch * scale;
}

at::Tensor attention(const dfs::vit_parameters &p, const at::Tensor &x, const std::string &prefix, int64_t heads) {
    const int64_t b = x.size(0), n = x.size(1), d = x.size(2), hd = d / heads;
    at::Tensor qkv = at::linear(x, get(p, prefix + "attn.qkv.weight"), get(p, prefix + "attn.qkv.bias"));
    at::Tensor split = qkv.reshape({b, n, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    const double scale = std::pow(static_cast<double>(hd), -0.5);
    at::Tensor out = dfs::attend(split[0], split[1], split[2], scale, 0);
    return at::linear(out.transpose(1, 2).reshape({b, n, d}), get(p, prefix + "attn.proj.weight"),
                      get(p, prefix + "attn.proj.bias"));
}

at::Tensor mlp(const dfs::vit_parameters &p, const at::Tensor &x, const std::string &prefix, bool swiglu) {
    if (swiglu) {
        auto halves = at::linear(x, get(p, prefix + "mlp.w12.weight"), get(p, prefix + "mlp.w12.bias")).chunk(2, -1);
        return at::linear(at::silu(halves[0]) * halves[1], get(p, prefix + "mlp.w3.weight"), get(p, prefix + "mlp.w3.bias"));
    }
    at::Tensor hidden = at::gelu(at::linear(x, get(p, prefix + "mlp.fc1.weight"), get(p, prefix + "mlp.fc1.bias")));
    return at::linear(hidden, get(p, prefix + "mlp.fc2.weight"), get(p, prefix + "mlp.fc2.bias"));
}

}  // namespace

namespace dfs {

at::Tensor vit_train_forward(const dfs_vit_config &c, const vit_parameters &p, const at::Tensor &images,
                             const vit_train_run &run) {
    TORCH_CHECK(images.dim() == 4 && images.size(2) % c.patch == 0 && images.size(3) % c.patch == 0,
                "training crops must be (B, 3, H, W) with sides multiple of the patch (", c.patch, ")");
    at::Tensor tokens = at::conv2d(images, get(p, "patch_embed.proj.weight"), get(p, "patch_embed.proj.bias"),
                                   {c.patch, c.patch});
    const int64_t b = tokens.size(0), gh = tokens.size(2), gw = tokens.size(3), r = c.registers;
    tokens = tokens.flatten(2).transpose(1, 2);
    at::Tensor x = at::cat({get(p, "cls_token").expand({b, -1, -1}), tokens}, 1);
    x = x + resample_pos_embed(get(p, "pos_embed"), c.pos_grid, gh, gw, run.pos_interp).to(x.scalar_type());
    if (r > 0) x = at::cat({x.slice(1, 0, 1), get(p, "register_tokens").expand({b, -1, -1}), x.slice(1, 1)}, 1);
    for (int i = 0; i < c.depth; i++) {
        const std::string prefix = "blocks." + std::to_string(i) + ".";
        const double rate = run.drop_path.empty() ? 0.0 : run.drop_path[static_cast<size_t>(i)];
        at::Tensor y = attention(p, norm(p, x, prefix + "norm1"), prefix, run.heads);
        if (c.layerscale) y = get(p, prefix + "ls1.gamma") * y;
        x = x + drop_path(y, rate, run, 2 * i);
        y = mlp(p, norm(p, x, prefix + "norm2"), prefix, c.swiglu != 0);
        if (c.layerscale) y = get(p, prefix + "ls2.gamma") * y;
        x = x + drop_path(y, rate, run, 2 * i + 1);
    }
    return norm(p, x, "norm").slice(1, 1 + r).reshape({b, gh, gw, c.dim});
}

}  // namespace dfs
