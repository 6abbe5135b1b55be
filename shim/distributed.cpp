// Data-parallel training over libtorch's c10d: a TCPStore rendezvous and a Gloo process group
// (CPU tensors; CUDA gradients go through the host), one per process, as torch.distributed
// builds them from MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE.
#include "distributed.hpp"

#include "fence.hpp"
#include "tensor_util.hpp"
#include "distributed_shim.h"

#include <c10/core/GradMode.h>

// A libtorch without Gloo (or a build without its headers) still builds: joining a group is then
// DF_E_UNSUPPORTED and every trainer runs alone.
#if defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>)
#define DFS_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define DFS_HAVE_GLOO 0
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#if DFS_HAVE_GLOO

namespace {

struct process_group {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    int rank = 0, world = 1;
    int64_t bucket_elements = 1 << 23;
};

std::mutex guard;
process_group current;

// As torch.distributed: the interface GLOO_SOCKET_IFNAME names, else loopback for a loopback
// rendezvous (one machine), else the interface this host's name resolves to.
std::shared_ptr<gloo::transport::Device> transport_device(const std::string &address) {
    if (const char *name = std::getenv("GLOO_SOCKET_IFNAME"))
        return c10d::ProcessGroupGloo::createDeviceForInterface(name);
    if (address == "127.0.0.1" || address == "localhost") return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

namespace dfs {

bool dist_active() { return current.world > 1 && current.group; }

using work_ptr = decltype(std::declval<c10d::ProcessGroupGloo &>().allreduce(std::declval<std::vector<at::Tensor> &>()));

struct dist_reducer::state {
    struct bucket {
        std::vector<at::Tensor> buffer; // one flat float64 tensor: the members' gradients times local
        size_t members = 0, pending = 0; // pending: members whose gradient has not arrived
        work_ptr work;
    };
    std::vector<at::Tensor> parameters;
    std::vector<size_t> bucket_of, offset_of;
    std::vector<char> seen;
    std::vector<unsigned> hooks;
    std::vector<bucket> buckets;
    size_t next = 0; // the first bucket not launched
    double local = 0;
    bool twice = false;
    std::mutex lock;

    // Starts the all-reduce of every complete bucket that is next in line (the caller holds lock);
    // all: of the incomplete ones too, but for those without any gradient (every rank has the
    // same graph, so none has one there either).
    void launch_ready(bool all) {
        for (; next < buckets.size() && (all || buckets[next].pending == 0); next++)
            if (buckets[next].pending < buckets[next].members)
                buckets[next].work = current.group->allreduce(buckets[next].buffer);
    }

    void arrived(size_t i, const at::Tensor &grad) {
        c10::NoGradGuard no_grad;
        std::lock_guard<std::mutex> guard(lock);
        if (seen[i]) { // a second pass through one parameter's accumulator: finish() refuses it
            twice = true;
            return;
        }
        seen[i] = 1;
        bucket &b = buckets[bucket_of[i]];
        b.buffer[0].narrow(0, static_cast<int64_t>(offset_of[i]), grad.numel()).copy_(grad.detach().reshape({-1})).mul_(local);
        b.pending--;
        launch_ready(false);
    }
};

dist_reducer::dist_reducer(const std::vector<at::Tensor> &parameters, int64_t local, const std::vector<char> &expected) {
    if (!dist_active()) return;
    auto s = std::make_shared<state>();
    s->parameters = parameters;
    s->local = static_cast<double>(local);
    const size_t n = parameters.size();
    s->bucket_of.resize(n), s->offset_of.resize(n), s->seen.assign(n, 0);
    std::vector<int64_t> sizes;
    // backward produces the last parameters' gradients first; the unexpected go last, together
    for (int unexpected = 0; unexpected < 2; unexpected++) {
        bool opened = false;
        for (size_t k = n; k-- > 0;) {
            const bool expect = expected.size() != n || expected[k];
            if (expect == (unexpected == 1)) continue;
            const int64_t numel = parameters[k].numel();
            if (!opened || (sizes.back() > 0 && sizes.back() + numel > current.bucket_elements)) {
                sizes.push_back(0);
                s->buckets.emplace_back();
                opened = true;
            }
            s->bucket_of[k] = s->buckets.size() - 1, s->offset_of[k] = static_cast<size_t>(sizes.back());
            sizes.back() += numel;
            s->buckets.back().members++, s->buckets.back().pending++;
        }
    }
    for (size_t b = 0; b < s->buckets.size(); b++)
        s->buckets[b].buffer = {at::zeros({sizes[b]}, at::TensorOptions().dtype(at::kDouble))};
    state *raw = s.get(); // the hooks are removed before s goes
    for (size_t k = 0; k < n; k++)
        s->hooks.push_back(parameters[k].register_hook([raw, k](const at::Tensor &grad) { raw->arrived(k, grad); }));
    state_ = s;
}

std::vector<char> dist_reducer::arrived() const { return state_ ? state_->seen : std::vector<char>(); }

dist_reducer::~dist_reducer() {
    if (!state_) return;
    for (size_t k = 0; k < state_->parameters.size(); k++) state_->parameters[k].remove_hook(state_->hooks[k]);
    // a pass that failed half-way may have started all-reduces: they must end before the buffers go
    for (auto &b : state_->buckets)
        if (b.work) try {
                b.work->wait();
            } catch (...) {
            }
}

void dist_reducer::finish(std::vector<double> *values) {
    if (!state_) return;
    c10::NoGradGuard no_grad;
    state &s = *state_;
    {
        std::lock_guard<std::mutex> guard(s.lock);
        TORCH_CHECK(!s.twice, "a parameter's gradient arrived twice in one backward pass");
        s.launch_ready(true); // buckets with parameters that had no gradient: their zeros
    }
    for (auto &b : s.buckets)
        if (b.work) {
            b.work->wait();
            b.work = work_ptr();
        }
    // the values times the local count, then the count: one more (small) all-reduce
    const size_t n_values = values ? values->size() : 0;
    std::vector<at::Tensor> tail = {at::zeros({static_cast<int64_t>(n_values) + 1}, at::TensorOptions().dtype(at::kDouble))};
    for (size_t i = 0; i < n_values; i++) tail[0][static_cast<int64_t>(i)] = (*values)[i] * s.local;
    tail[0][static_cast<int64_t>(n_values)] = s.local;
    current.group->allreduce(tail)->wait();
    const double total = tail[0][static_cast<int64_t>(n_values)].item<double>();
    TORCH_CHECK(total > 0, "no rank had items in this step");
    for (size_t k = 0; k < s.parameters.size(); k++) {
        if (!s.seen[k]) continue;
        const at::Tensor &grad = s.parameters[k].grad();
        const at::Tensor &sum = s.buckets[s.bucket_of[k]].buffer[0];
        grad.copy_((sum.narrow(0, static_cast<int64_t>(s.offset_of[k]), grad.numel()) / total).view(grad.sizes()));
    }
    for (size_t i = 0; i < n_values; i++) (*values)[i] = tail[0][static_cast<int64_t>(i)].item<double>() / total;
}

std::vector<double> dist_means(const std::vector<at::Tensor> &tensors) {
    const int64_t n = static_cast<int64_t>(tensors.size());
    at::Tensor sums = at::zeros({2 * n}, at::TensorOptions().dtype(at::kDouble));
    for (int64_t i = 0; i < n; i++) {
        const at::Tensor &t = tensors[static_cast<size_t>(i)];
        sums[i] = t.mean().item<double>() * static_cast<double>(t.numel());
        sums[n + i] = static_cast<double>(t.numel());
    }
    if (dist_active()) {
        std::vector<at::Tensor> buffer = {sums};
        current.group->allreduce(buffer)->wait();
    }
    std::vector<double> means;
    for (int64_t i = 0; i < n; i++) means.push_back(sums[i].item<double>() / sums[n + i].item<double>());
    return means;
}

// In backward, replaces the gradient reaching shared (a value of the whole batch that every
// rank's loss depends on) by the one of the whole objective: that objective weighs rank r's loss
// by local_r / sum(local) and dist_reducer scales this rank's gradients by local / sum(local), so
// the gradient here is the sum over r of local_r d L_r / d shared, divided by local.
static void share_gradient_across_ranks(const at::Tensor &shared, int64_t local) {
    if (!shared.requires_grad()) return;
    const double weight = static_cast<double>(local);
    shared.register_hook([weight](const at::Tensor &grad) {
        std::vector<at::Tensor> g = {grad.detach().to(at::kCPU) * weight};
        current.group->allreduce(g)->wait();
        return (g[0] / weight).to(grad.device());
    });
}

at::Tensor dist_sum(const at::Tensor &values, int64_t local) {
    if (!dist_active()) return values;
    std::vector<at::Tensor> summed = {values.detach().to(at::kCPU).clone()};
    current.group->allreduce(summed)->wait();
    // the sum's value with the gradient of values itself: d total / d values is the identity
    at::Tensor total = values + (summed[0].to(values.device()) - values.detach());
    share_gradient_across_ranks(total, local);
    return total;
}

at::Tensor dist_gather_live(const at::Tensor &rows, int64_t local) {
    if (!dist_active()) return rows;
    const std::vector<int64_t> counts = dist_counts(rows.size(0));
    const at::Tensor all = dist_gather_rows(rows.detach(), counts);
    int64_t offset = 0;
    for (int r = 0; r < current.rank; r++) offset += counts[static_cast<size_t>(r)];
    const int64_t n = rows.size(0), after = all.size(0) - offset - n;
    at::Tensor whole = at::cat({all.narrow(0, 0, offset), rows, all.narrow(0, offset + n, after)});
    share_gradient_across_ranks(whole, local);
    return whole;
}

std::vector<int64_t> dist_counts(int64_t local) {
    if (!dist_active()) return {local};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < current.world; r++) out[0].push_back(at::empty({1}, at::TensorOptions().dtype(at::kLong)));
    std::vector<at::Tensor> in = {at::full({1}, local, at::TensorOptions().dtype(at::kLong))};
    current.group->allgather(out, in)->wait();
    std::vector<int64_t> counts;
    for (const auto &t : out[0]) counts.push_back(t.item<int64_t>());
    return counts;
}

at::Tensor dist_gather_rows(const at::Tensor &local, const std::vector<int64_t> &counts) {
    if (!dist_active()) return local;
    c10::NoGradGuard no_grad;
    // Gloo gathers equal sizes: every rank pads its rows to the largest count
    const int64_t most = *std::max_element(counts.begin(), counts.end());
    std::vector<int64_t> shape(local.sizes().begin(), local.sizes().end());
    shape[0] = most;
    at::Tensor padded = at::zeros(shape, at::TensorOptions().dtype(at::kFloat));
    padded.narrow(0, 0, local.size(0)).copy_(local.detach().to(at::kCPU, at::kFloat));
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < current.world; r++) out[0].push_back(at::empty_like(padded));
    std::vector<at::Tensor> in = {padded};
    current.group->allgather(out, in)->wait();
    std::vector<at::Tensor> parts;
    for (int r = 0; r < current.world; r++) parts.push_back(out[0][static_cast<size_t>(r)].narrow(0, 0, counts[static_cast<size_t>(r)]));
    return at::cat(parts).to(local.device(), local.scalar_type());
}

}  // namespace dfs

extern "C" {

df_status dfs_dist_init(const char *address, int32_t port, int32_t rank, int32_t world, int32_t timeout_s,
                        int64_t bucket_elements, const char *agent_prefix) noexcept {
    DFS_FENCE({
        std::lock_guard<std::mutex> lock(guard);
        TORCH_CHECK(!current.group, "a process group is already up: call df_distributed_shutdown first");
        const auto timeout = std::chrono::seconds(timeout_s);
        c10d::TCPStoreOptions options;
        options.port = static_cast<uint16_t>(port);
        options.isServer = rank == 0 && agent_prefix == nullptr;
        options.numWorkers = world;
        options.waitWorkers = agent_prefix == nullptr;
        options.timeout = timeout;
        process_group next;
        next.store = c10::make_intrusive<c10d::TCPStore>(address, options);
        // the launcher's store also holds its own keys: the ranks' go under their prefix
        if (agent_prefix != nullptr) next.store = c10::make_intrusive<c10d::PrefixStore>(agent_prefix, next.store);
        auto gloo = c10d::ProcessGroupGloo::Options::create();
        gloo->devices.push_back(transport_device(address));
        gloo->timeout = timeout;
        next.group = c10::make_intrusive<c10d::ProcessGroupGloo>(next.store, rank, world, gloo);
        next.rank = rank, next.world = world, next.bucket_elements = bucket_elements;
        current = next;
        return DF_OK;
    });
}

const char *dfs_dist_backend(void) noexcept { return "gloo"; }

struct dfs_dist_store {
    c10::intrusive_ptr<c10d::TCPStore> store;
};

df_status dfs_dist_store_new(int32_t port, dfs_dist_store **store, int32_t *bound) noexcept {
    DFS_FENCE({
        c10d::TCPStoreOptions options;
        options.port = static_cast<uint16_t>(port);
        options.isServer = true;
        options.waitWorkers = false; // the ranks come later; Gloo's rendezvous waits for them
        auto made = std::make_unique<dfs_dist_store>();
        made->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
        *bound = made->store->getPort();
        *store = made.release();
        return DF_OK;
    });
}

void dfs_dist_store_free(dfs_dist_store *store) noexcept {
    try {
        delete store;
    } catch (...) { // a store that cannot stop cleanly is still gone
    }
}

df_status dfs_dist_gather_int64(const int64_t *local, int64_t n, int64_t *all) noexcept {
    DFS_FENCE({
        const at::Tensor mine = at::from_blob(const_cast<int64_t *>(local), {n}, at::kLong).clone();
        std::vector<at::Tensor> in = {mine};
        std::vector<std::vector<at::Tensor>> out(1);
        for (int r = 0; current.group && r < current.world; r++) out[0].push_back(at::empty_like(mine));
        if (current.group) current.group->allgather(out, in)->wait();
        else out[0].push_back(mine);
        for (size_t r = 0; r < out[0].size(); r++)
            std::memcpy(all + static_cast<int64_t>(r) * n, out[0][r].data_ptr<int64_t>(), static_cast<size_t>(n) * sizeof *all);
        return DF_OK;
    });
}

df_status dfs_dist_barrier(void) noexcept {
    DFS_FENCE({
        if (!current.group) return DF_OK;
        // an all-reduce rather than barrier(): Gloo's barrier has no timeout of its own
        std::vector<at::Tensor> one = {at::ones({1})};
        current.group->allreduce(one)->wait();
        return DF_OK;
    });
}

df_status dfs_dist_offset(int64_t local, int64_t *offset, int64_t *total) noexcept {
    DFS_FENCE({
        const std::vector<int64_t> counts = dfs::dist_counts(local);
        *offset = 0, *total = 0;
        for (size_t r = 0; r < counts.size(); r++) {
            if (static_cast<int>(r) < current.rank) *offset += counts[r];
            *total += counts[r];
        }
        return DF_OK;
    });
}

void dfs_dist_shutdown(void) noexcept {
    std::lock_guard<std::mutex> lock(guard);
    try {
        current = process_group();
    } catch (...) { // a peer gone is no reason to fail at exit
    }
}

}  // extern "C"

#else // DFS_HAVE_GLOO

namespace dfs {
bool dist_active() { return false; }
struct dist_reducer::state {};
dist_reducer::dist_reducer(const std::vector<at::Tensor> &, int64_t, const std::vector<char> &) {}
std::vector<char> dist_reducer::arrived() const { return {}; }
dist_reducer::~dist_reducer() {}
void dist_reducer::finish(std::vector<double> *) {}
std::vector<int64_t> dist_counts(int64_t local) { return {local}; }
at::Tensor dist_sum(const at::Tensor &values, int64_t) { return values; }
at::Tensor dist_gather_live(const at::Tensor &rows, int64_t) { return rows; }
std::vector<double> dist_means(const std::vector<at::Tensor> &tensors) {
    std::vector<double> means;
    for (const auto &t : tensors) means.push_back(t.mean().item<double>());
    return means;
}
at::Tensor dist_gather_rows(const at::Tensor &local, const std::vector<int64_t> &) { return local; }
}  // namespace dfs

extern "C" {
df_status dfs_dist_init(const char *, int32_t, int32_t, int32_t, int32_t, int64_t, const char *) noexcept {
    return dfs::fail(DF_E_UNSUPPORTED, "this build has no Gloo process group (build with libgloo-dev installed and a "
                                       "libtorch that has Gloo)");
}
df_status dfs_dist_store_new(int32_t, dfs_dist_store **, int32_t *) noexcept {
    return dfs::fail(DF_E_UNSUPPORTED, "this build has no Gloo process group, so no rendezvous to serve");
}
void dfs_dist_store_free(dfs_dist_store *) noexcept {}
const char *dfs_dist_backend(void) noexcept { return "none"; }
df_status dfs_dist_gather_int64(const int64_t *local, int64_t n, int64_t *all) noexcept {
    std::memcpy(all, local, static_cast<size_t>(n) * sizeof *all);
    return DF_OK;
}
df_status dfs_dist_barrier(void) noexcept { return DF_OK; }
df_status dfs_dist_offset(int64_t local, int64_t *offset, int64_t *total) noexcept {
    *offset = 0, *total = local;
    return DF_OK;
}
void dfs_dist_shutdown(void) noexcept {}
}  // extern "C"

#endif // DFS_HAVE_GLOO

extern "C" df_status dfs_dist_gather_rows(const dfs_tensor_desc *local, dfs_tensor **out,
                                          dfs_tensor_desc *out_desc) noexcept {
    DFS_FENCE({
        const at::Tensor rows = dfs::view_of(*local).to(at::kCPU, at::kFloat);
        const at::Tensor all = dfs::dist_gather_rows(rows, dfs::dist_counts(rows.size(0)));
        return dfs::hand_out(all.is_same(rows) ? rows.clone() : all.contiguous(), out, out_desc);
    });
}
