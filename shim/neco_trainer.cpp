// NeCo post-pretraining (specs/neco.md; the official src/neco.py): a student backbone and
// projection head trained so that the order of each patch's similarities to reference patches
// matches the EMA teacher's, across crops brought onto their common boxes by ROI align.
#include "distributed.hpp"
#include "fence.hpp"
#include "neco_internal.hpp"
#include "roi_align.hpp"
#include "tensor_util.hpp"
#include "vit_internal.hpp"
#include "vit_train.hpp"

#include <c10/core/GradMode.h>

#include <cmath>
#include <string>
#include <vector>

struct dfs_neco {
    dfs_vit_config vit;
    dfs_neco_settings settings;
    std::vector<std::string> names;
    std::vector<int32_t> groups;                           // DFS_NECO_GROUP_* of each parameter
    std::vector<at::Tensor> student, teacher, first, second; // values, AdamW's m and v
    at::Tensor queue;                                      // (globals, queue, head_out); undefined without
    int64_t queue_entries = 0, steps = 0;
    std::vector<char> with_gradient; // the last data-parallel step's (dist_reducer)
};

namespace {

constexpr int64_t kAligned = 7; // ROI align's output side: 49 query patches per crop pair

bool is_head(const std::string &name) { return name.rfind("head.", 0) == 0; }

// The official exclude_from_wt_decay: biases and every 1-D tensor go without weight decay.
int32_t group_of(const std::string &name, const at::Tensor &p) {
    const bool no_decay = (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) || p.dim() == 1;
    return (is_head(name) ? DFS_NECO_GROUP_HEAD : DFS_NECO_GROUP_BACKBONE) + (no_decay ? 1 : 0);
}

// A truncated-normal (std 0.02, cut at +-2) weight drawn from the generator, as the official
// head's trunc_normal_ initialisation; biases start at 0.
at::Tensor head_weight(int64_t out, int64_t in, uint64_t *generator) {
    std::vector<float> values(static_cast<size_t>(out * in));
    for (auto &v : values) {
        double z;
        do {
            const double u1 = 1.0 - dfs::uniform53(generator), u2 = dfs::uniform53(generator);
            z = 0.02 * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
        } while (z < -2.0 || z > 2.0);
        v = static_cast<float>(z);
    }
    return at::tensor(values).view({out, in});
}

dfs::vit_parameters as_map(const dfs_neco &t, const std::vector<at::Tensor> &values) {
    dfs::vit_parameters map;
    for (size_t i = 0; i < t.names.size(); i++) map[t.names[i]] = values[i];
    return map;
}

// Linear - GELU - Linear - GELU - Linear on the patch tokens, L2-normalised.
at::Tensor project(const dfs::vit_parameters &p, const at::Tensor &tokens) {
    at::Tensor x = at::gelu(at::linear(tokens, p.at("head.0.weight"), p.at("head.0.bias")));
    x = at::gelu(at::linear(x, p.at("head.2.weight"), p.at("head.2.bias")));
    x = at::linear(x, p.at("head.4.weight"), p.at("head.4.bias"));
    return x / x.norm(2, {-1}, true).clamp_min(1e-12);
}

// Where each row of the local crop-major batch (crops x local images) sits in the whole batch's
// (crops x total images, this rank's images from offset on).
std::vector<int64_t> sample_index(int64_t crops, int64_t local, int64_t offset, int64_t total) {
    std::vector<int64_t> index;
    for (int64_t c = 0; c < crops; c++)
        for (int64_t i = 0; i < local; i++) index.push_back(c * total + offset + i);
    return index;
}

struct share {
    int64_t local, offset, total; // this rank's images, those of lower ranks, everyone's
    std::vector<int64_t> counts;  // every rank's images
};

at::Tensor embed(const dfs_neco &t, const dfs::vit_parameters &p, const at::Tensor &images, bool student,
                 uint64_t stream, int64_t pass, const share &s, int64_t crops) {
    dfs::vit_train_run run{t.settings.heads, t.settings.pos_interp, {}, stream, pass,
                           sample_index(crops, s.local, s.offset, s.total)};
    if (student && t.settings.drop_path > 0) // linearly from 0 at the first block to the rate at the last
        for (int32_t i = 0; i < t.vit.depth; i++)
            run.drop_path.push_back(t.vit.depth > 1 ? t.settings.drop_path * i / (t.vit.depth - 1) : t.settings.drop_path);
    return project(p, dfs::vit_train_forward(t.vit, p, images, run));
}

// A uniformly random permutation of 0..n-1 (Fisher-Yates) from the generator.
std::vector<int64_t> permutation(int64_t n, uint64_t *generator) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) order[static_cast<size_t>(i)] = i;
    for (int64_t i = n - 1; i > 0; i--)
        std::swap(order[static_cast<size_t>(i)], order[dfs::splitmix64(generator) % static_cast<uint64_t>(i + 1)]);
    return order;
}

at::Tensor index_tensor(const std::vector<int64_t> &values, at::Device device) {
    return at::tensor(values, at::TensorOptions().dtype(at::kLong)).to(device);
}

// The official update_queue: per global-crop slot, min(10 B, queue) random rows of the teacher's
// map of the whole batch pushed in front, the oldest falling off the end.
void update_queue(dfs_neco &t, const at::Tensor &teacher, const share &s, uint64_t *generator) {
    const int64_t length = t.queue.size(1), e = teacher.size(-1), batch = s.total;
    for (int64_t g = 0; g < t.settings.globals; g++) {
        const at::Tensor rows = dfs::dist_gather_rows(teacher.narrow(0, g * s.local, s.local), s.counts).reshape({-1, e});
        const int64_t k = std::min({10 * batch, length, rows.size(0)});
        std::vector<int64_t> order = permutation(rows.size(0), generator);
        order.resize(static_cast<size_t>(k));
        at::Tensor slot = t.queue[g];
        if (k < length) slot.narrow(0, k, length - k).copy_(slot.narrow(0, 0, length - k).clone());
        slot.narrow(0, 0, k).copy_(rows.index_select(0, index_tensor(order, rows.device())));
        t.queue_entries = std::min(t.queue_entries + k, length);
    }
}

// The references of this rank's images in one pair: the teacher's aligned patches of the whole
// batch shuffled (or, with the queue, random queue rows), regrouped per image.
at::Tensor references(const dfs_neco &t, const at::Tensor &teacher_aligned, int64_t g, const share &s,
                      uint64_t *generator) {
    const int64_t per_image = teacher_aligned.size(1), e = teacher_aligned.size(2), n = s.total * per_image;
    std::vector<int64_t> order;
    at::Tensor pool;
    if (!t.queue.defined() || t.queue_entries == 0) {
        pool = dfs::dist_gather_rows(teacher_aligned, s.counts).reshape({n, e});
        order = permutation(n, generator);
    } else {
        const int64_t length = t.queue.size(1);
        TORCH_CHECK(length >= n, "the queue (", length, ") must hold at least batch x 49 (", n, ") entries");
        pool = t.queue[g];
        order = permutation(length, generator);
        order.resize(static_cast<size_t>(n));
        for (auto &i : order) i %= t.queue_entries;
    }
    // every rank draws the whole batch's order, then keeps its own images' rows
    const std::vector<int64_t> mine(order.begin() + s.offset * per_image,
                                    order.begin() + (s.offset + s.local) * per_image);
    return pool.index_select(0, index_tensor(mine, pool.device())).view_as(teacher_aligned);
}

// (B, 5) ROI boxes: image index, then the box of (first, second) in boxes (B, first, second, 4).
at::Tensor pair_boxes(const at::Tensor &boxes, int64_t first, int64_t second) {
    at::Tensor chosen = boxes.select(1, first).select(1, second);
    at::Tensor index = at::arange(chosen.size(0), chosen.options()).unsqueeze(1);
    return at::cat({index, chosen}, 1);
}

double cosine_from(double start, double end, int64_t step, int64_t total) {
    const double progress = total > 0 ? std::min<double>(static_cast<double>(step), static_cast<double>(total)) / total : 1.0;
    return end + 0.5 * (start - end) * (1 + std::cos(M_PI * progress));
}

// torch.optim.AdamW's update of parameter i: decoupled decay, then Adam with bias correction.
void adamw(dfs_neco &t, size_t i, double lr, double decay, int64_t step, double eps) {
    at::Tensor &p = t.student[i];
    at::Tensor grad = p.grad().defined() ? p.grad() : at::zeros_like(p);
    c10::NoGradGuard no_grad;
    if (decay > 0) p.mul_(1 - lr * decay);
    t.first[i].lerp_(grad, 0.1);
    t.second[i].mul_(0.999).addcmul_(grad, grad, 0.001);
    const double correction1 = 1 - std::pow(0.9, static_cast<double>(step));
    const double correction2 = 1 - std::pow(0.999, static_cast<double>(step));
    at::Tensor denom = (t.second[i].sqrt() / std::sqrt(correction2)).add_(eps);
    p.addcdiv_(t.first[i], denom, -lr / correction1);
}

struct step_batch {
    at::Tensor global, local, gc, all; // crops (G B, 3, S, S), (L B, 3, s, s); boxes (B, G, V, 4), (B, V, G, 4)
    int64_t batch;                      // this rank's images
    int64_t rank;                       // this rank (0 without a group)
};

// The loss over every (global g, other crop v) pair; backpropagates into the student.
double pair_losses(dfs_neco &t, const step_batch &b, uint64_t *generator) {
    const auto &s = t.settings;
    const int64_t views = s.globals + s.locals;
    const dfs::roi_align_config roi{kAligned, 1.0 / t.vit.patch, -1, true};
    const dfs::vit_parameters teacher = as_map(t, t.teacher), student = as_map(t, t.student);
    share part{b.batch, 0, 0, dfs::dist_counts(b.batch)};
    for (size_t r = 0; r < part.counts.size(); r++) {
        if (static_cast<int64_t>(r) < b.rank) part.offset += part.counts[r];
        part.total += part.counts[r];
    }
    const uint64_t stream = dfs::splitmix64(generator);
    at::Tensor teacher_maps;
    {
        c10::NoGradGuard no_grad;
        teacher_maps = embed(t, teacher, b.global, false, stream, 0, part, s.globals);
    }
    const at::Tensor student_global = embed(t, student, b.global, true, stream, 1, part, s.globals);
    const at::Tensor student_local =
        s.locals > 0 ? embed(t, student, b.local, true, stream, 2, part, s.locals) : at::Tensor();
    if (t.queue.defined()) update_queue(t, teacher_maps, part, generator);
    double total = 0;
    at::Tensor surrogate;
    const double weight = 1.0 / (static_cast<double>(s.globals) * static_cast<double>(views - 1));
    for (int64_t g = 0; g < s.globals; g++) {
        const at::Tensor teacher_map = teacher_maps.narrow(0, g * b.batch, b.batch);
        for (int64_t v = 0; v < views; v++) {
            if (v == g) continue;
            at::Tensor teacher_aligned = dfs::roi_align_channels_last(teacher_map, pair_boxes(b.gc, g, v), roi);
            const at::Tensor map = v < s.globals ? student_global.narrow(0, v * b.batch, b.batch)
                                                 : student_local.narrow(0, (v - s.globals) * b.batch, b.batch);
            at::Tensor aligned = dfs::roi_align_channels_last(map, pair_boxes(b.all, v, g), roi);
            const at::Tensor refs = references(t, teacher_aligned, g, part, generator);
            at::Tensor grad;
            total += weight * dfs::neco_loss(aligned.detach(), teacher_aligned, refs, s.loss, &grad);
            at::Tensor term = (aligned * grad.to(aligned.device(), aligned.scalar_type())).sum() * weight;
            surrogate = surrogate.defined() ? surrogate + term : term;
        }
    }
    // every rank steps with the whole batch's gradient and loss, averaged while backward goes on
    dfs::dist_reducer reducer(t.student, b.batch, t.with_gradient);
    surrogate.backward();
    std::vector<double> values = {total};
    reducer.finish(&values);
    t.with_gradient = reducer.arrived();
    return values[0];
}

void optimise_and_update_teacher(dfs_neco &t) {
    const auto &s = t.settings;
    const double lr_factor = cosine_from(1.0, 0.0, t.steps, s.total_steps);
    const double decay = cosine_from(s.weight_decay, s.weight_decay_end, t.steps, s.total_steps);
    const double momentum = cosine_from(s.momentum, 1.0, t.steps, s.total_steps);
    for (size_t i = 0; i < t.student.size(); i++) {
        const int32_t group = t.groups[i];
        const bool head = group >= DFS_NECO_GROUP_HEAD, decays = group % 2 == 0;
        adamw(t, i, (head ? s.lr_head : s.lr_backbone) * lr_factor, decays ? decay : 0.0, t.steps + 1, s.adam_eps);
        t.student[i].mutable_grad() = at::Tensor();
    }
    c10::NoGradGuard no_grad;
    for (size_t i = 0; i < t.student.size(); i++) t.teacher[i].mul_(momentum).add_(t.student[i], 1 - momentum);
}

}  // namespace

extern "C" {

df_status dfs_neco_create(const dfs_vit *vit, const dfs_neco_settings *settings, uint64_t *generator,
                          dfs_neco **out) noexcept {
    DFS_FENCE({
        auto t = std::make_unique<dfs_neco>();
        t->vit = dfs::vit_config(*vit);
        t->settings = *settings;
        const int64_t d = t->vit.dim, hidden = settings->head_hidden, e = settings->head_out;
        const at::Device device = dfs::vit_device(*vit);
        for (auto &weight : dfs::vit_weights(*vit)) {
            t->names.push_back(weight.first);
            t->student.push_back(weight.second.to(device, at::kFloat).clone());
        }
        const int64_t shapes[3][2] = {{hidden, d}, {hidden, hidden}, {e, hidden}};
        for (int layer = 0; layer < 3; layer++) {
            const std::string prefix = "head." + std::to_string(2 * layer) + ".";
            t->names.push_back(prefix + "weight");
            t->student.push_back(head_weight(shapes[layer][0], shapes[layer][1], generator).to(device));
            t->names.push_back(prefix + "bias");
            t->student.push_back(at::zeros({shapes[layer][0]}, at::TensorOptions().device(device)));
        }
        for (size_t i = 0; i < t->names.size(); i++) {
            t->groups.push_back(group_of(t->names[i], t->student[i]));
            t->teacher.push_back(t->student[i].clone());
            t->first.push_back(at::zeros_like(t->student[i]));
            t->second.push_back(at::zeros_like(t->student[i]));
            t->student[i].set_requires_grad(true);
        }
        if (settings->queue > 0)
            t->queue = at::zeros({settings->globals, settings->queue, e}, at::TensorOptions().device(device));
        *out = t.release();
        return DF_OK;
    });
}

void dfs_neco_free(dfs_neco *trainer) noexcept { delete trainer; }

int32_t dfs_neco_state_count(const dfs_neco *t) noexcept { return static_cast<int32_t>(t->names.size()); }

df_status dfs_neco_state_info(const dfs_neco *t, int32_t index, const char **name, int32_t *ndim,
                              int64_t *shape) noexcept {
    if (index < 0 || index >= dfs_neco_state_count(t)) return dfs::fail(DF_E_INVALID_ARG, "state index out of range");
    const at::Tensor &p = t->student[static_cast<size_t>(index)];
    *name = t->names[static_cast<size_t>(index)].c_str();
    *ndim = static_cast<int32_t>(p.dim());
    for (int64_t k = 0; k < p.dim(); k++) shape[k] = p.size(k);
    return DF_OK;
}

df_status dfs_neco_state(dfs_neco *t, int32_t index, int32_t which, float *values, int32_t write) noexcept {
    DFS_FENCE({
        TORCH_CHECK(index >= 0 && index < dfs_neco_state_count(t) && which >= 0 && which < 4, "no such state");
        std::vector<at::Tensor> *lists[4] = {&t->student, &t->teacher, &t->first, &t->second};
        at::Tensor &state = (*lists[which])[static_cast<size_t>(index)];
        at::Tensor host = at::from_blob(values, state.sizes(), at::TensorOptions().dtype(at::kFloat));
        c10::NoGradGuard no_grad;
        if (write) state.copy_(host);
        else host.copy_(state.detach());
        return DF_OK;
    });
}

df_status dfs_neco_queue(dfs_neco *t, float *values, int64_t *entries, int32_t write) noexcept {
    DFS_FENCE({
        if (write) t->queue_entries = *entries;
        else *entries = t->queue_entries;
        if (!t->queue.defined() || values == nullptr) return DF_OK;
        at::Tensor host = at::from_blob(values, t->queue.sizes(), at::TensorOptions().dtype(at::kFloat));
        if (write) t->queue.copy_(host);
        else host.copy_(t->queue);
        return DF_OK;
    });
}

int64_t dfs_neco_steps(const dfs_neco *t) noexcept { return t->steps; }
void dfs_neco_set_steps(dfs_neco *t, int64_t steps) noexcept { t->steps = steps; }
void dfs_neco_set_total_steps(dfs_neco *t, int64_t total) noexcept { t->settings.total_steps = total; }

df_status dfs_neco_step(dfs_neco *t, const dfs_tensor_desc *global, const dfs_tensor_desc *local,
                        const double *gc_boxes, const double *all_boxes, int64_t batch, int32_t rank,
                        uint64_t *generator, double *loss) noexcept {
    DFS_FENCE({
        const auto &s = t->settings;
        const at::Device device = t->student[0].device();
        const int64_t views = s.globals + s.locals;
        step_batch b;
        b.batch = batch;
        b.rank = rank;
        // image-major (B V, ...) crops to crop-major (V B, ...), as the official loader stacks them
        auto crop_major = [&](const dfs_tensor_desc *desc, int64_t crops) {
            at::Tensor x = dfs::view_of(*desc).to(device, at::kFloat);
            return x.view({batch, crops, 3, x.size(2), x.size(3)}).transpose(0, 1).reshape({crops * batch, 3, x.size(2), x.size(3)});
        };
        b.global = crop_major(global, s.globals);
        if (s.locals > 0) b.local = crop_major(local, s.locals);
        const auto dbl = at::TensorOptions().dtype(at::kDouble);
        b.gc = at::from_blob(const_cast<double *>(gc_boxes), {batch, s.globals, views, 4}, dbl).clone();
        b.all = at::from_blob(const_cast<double *>(all_boxes), {batch, views, s.globals, 4}, dbl).clone();
        c10::AutoGradMode enable(true);
        *loss = pair_losses(*t, b, generator);
        optimise_and_update_teacher(*t);
        t->steps++;
        return DF_OK;
    });
}

}  // extern "C"
