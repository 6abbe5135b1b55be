// Data-parallel training over libtorch's c10d: a TCPStore rendezvous and a Gloo process group
// (CPU tensors; CUDA gradients go through the host), one per process, as torch.distributed
// builds them from MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE.
#include "distributed.hpp"

#include "fence.hpp"
#include "tensor_util.hpp"

#include <c10/core/GradMode.h>

// A libtorch without Gloo (or a build without its headers) still builds: joining a group is then
// DF_E_UNSUPPORTED and every trainer runs alone.
#if defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>)
#define DFS_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define DFS_HAVE_GLOO 0
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>

#if DFS_HAVE_GLOO

namespace {

struct process_group {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    int rank = 0, world = 1;
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

void dist_average(const std::vector<at::Tensor> &parameters, int64_t local, std::vector<double> *values) {
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> grads;
    for (const auto &p : parameters)
        if (p.grad().defined()) grads.push_back(p.grad());
    // one buffer: the gradients times the local count, the values times it, then the count
    std::vector<at::Tensor> parts;
    for (const auto &g : grads) parts.push_back(g.detach().to(at::kCPU, at::kDouble).reshape({-1}) * static_cast<double>(local));
    const size_t n_values = values ? values->size() : 0;
    at::Tensor tail = at::zeros({static_cast<int64_t>(n_values) + 1}, at::TensorOptions().dtype(at::kDouble));
    for (size_t i = 0; i < n_values; i++) tail[static_cast<int64_t>(i)] = (*values)[i] * static_cast<double>(local);
    tail[static_cast<int64_t>(n_values)] = static_cast<double>(local);
    parts.push_back(tail);
    std::vector<at::Tensor> buffer = {at::cat(parts)};
    current.group->allreduce(buffer)->wait();
    const at::Tensor summed = buffer[0];
    const double total = summed[summed.size(0) - 1].item<double>();
    TORCH_CHECK(total > 0, "no rank had items in this step");
    int64_t at = 0;
    for (auto &g : grads) {
        const int64_t n = g.numel();
        g.copy_((summed.narrow(0, at, n) / total).view(g.sizes()));
        at += n;
    }
    for (size_t i = 0; i < n_values; i++) (*values)[i] = summed[at + static_cast<int64_t>(i)].item<double>() / total;
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

df_status dfs_dist_init(const char *address, int32_t port, int32_t rank, int32_t world, int32_t timeout_s) noexcept {
    DFS_FENCE({
        std::lock_guard<std::mutex> lock(guard);
        TORCH_CHECK(!current.group, "a process group is already up: call df_distributed_shutdown first");
        const auto timeout = std::chrono::seconds(timeout_s);
        c10d::TCPStoreOptions options;
        options.port = static_cast<uint16_t>(port);
        options.isServer = rank == 0;
        options.numWorkers = world;
        options.waitWorkers = true;
        options.timeout = timeout;
        process_group next;
        next.store = c10::make_intrusive<c10d::TCPStore>(address, options);
        auto gloo = c10d::ProcessGroupGloo::Options::create();
        gloo->devices.push_back(transport_device(address));
        gloo->timeout = timeout;
        next.group = c10::make_intrusive<c10d::ProcessGroupGloo>(next.store, rank, world, gloo);
        next.rank = rank, next.world = world;
        current = next;
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
void dist_average(const std::vector<at::Tensor> &, int64_t, std::vector<double> *) {}
std::vector<int64_t> dist_counts(int64_t local) { return {local}; }
std::vector<double> dist_means(const std::vector<at::Tensor> &tensors) {
    std::vector<double> means;
    for (const auto &t : tensors) means.push_back(t.mean().item<double>());
    return means;
}
at::Tensor dist_gather_rows(const at::Tensor &local, const std::vector<int64_t> &) { return local; }
}  // namespace dfs

extern "C" {
df_status dfs_dist_init(const char *, int32_t, int32_t, int32_t, int32_t) noexcept {
    return dfs::fail(DF_E_UNSUPPORTED, "this build has no Gloo process group (build with libgloo-dev installed and a "
                                       "libtorch that has Gloo)");
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
