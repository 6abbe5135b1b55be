// k-means: greedy k-means++ initialisation (scikit-learn's, with 2 + log k local trials), Lloyd
// iterations or minibatch updates, best of several initialisations. Squared distances come from
// one GEMM per block of points (|x|^2 - 2 x.c + |c|^2), the blocks bounding memory.
#include "fence.hpp"
#include "tensor_util.hpp"
#include "kmeans_shim.h"

#include <c10/core/GradMode.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

constexpr int64_t kBlock = 65536;

at::Tensor normalised(const at::Tensor &x) { return x / x.norm(2, 1, true).clamp_min(1e-12); }

// Squared distances of every centre to every point, (K, N); norms: the points' squared norms as a
// row (1, N), computed once per data set. Centres-by-points is the faster GEMM orientation here:
// with few centres the product is bound by reading x, which this shape streams once (1.5x to 1.6x
// faster than (N, K) with OpenBLAS at K = 6 and K = 80).
at::Tensor squared_distances(const at::Tensor &x, const at::Tensor &norms, const at::Tensor &centres) {
    at::Tensor d = at::addmm(norms, centres, x.t(), 1.0, -2.0) + (centres * centres).sum(1).unsqueeze(1);
    return d.clamp_min_(0.0);
}

// A reduction, not x * x: that would allocate a temporary as large as the data.
at::Tensor squared_norms(const at::Tensor &x) { return x.norm(2, 1).square_().unsqueeze(0); }

// Nearest centre and its squared distance for every point, in blocks of points.
void assign(const at::Tensor &x, const at::Tensor &norms, const at::Tensor &centres, at::Tensor &labels,
            at::Tensor &nearest) {
    const int64_t n = x.size(0);
    labels = at::empty({n}, x.options().dtype(at::kLong));
    nearest = at::empty({n}, x.options());
    for (int64_t start = 0; start < n; start += kBlock) {
        const int64_t rows = std::min(kBlock, n - start);
        auto best = squared_distances(x.narrow(0, start, rows), norms.narrow(1, start, rows), centres).min(0);
        nearest.narrow(0, start, rows).copy_(std::get<0>(best));
        labels.narrow(0, start, rows).copy_(std::get<1>(best));
    }
}

double uniform(std::mt19937_64 &rng) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

at::Tensor kmeans_plus_plus(const at::Tensor &x, const at::Tensor &norms, int64_t k, std::mt19937_64 &rng) {
    const int64_t n = x.size(0), trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
    at::Tensor centres = at::empty({k, x.size(1)}, x.options());
    int64_t first = static_cast<int64_t>(uniform(rng) * static_cast<double>(n)) % n;
    centres[0].copy_(x[first]);
    at::Tensor closest = squared_distances(x, norms, centres.narrow(0, 0, 1)).squeeze(0);
    double potential = closest.sum().item<double>();
    for (int64_t c = 1; c < k; c++) {
        at::Tensor cumulative = closest.to(at::kDouble).cumsum(0);
        std::vector<int64_t> candidates;
        for (int64_t t = 0; t < trials; t++) {
            double target = uniform(rng) * potential;
            int64_t index = at::searchsorted(cumulative, at::scalar_tensor(target, cumulative.options())).item<int64_t>();
            candidates.push_back(std::min(index, n - 1));
        }
        at::Tensor chosen = x.index_select(0, at::tensor(candidates, at::TensorOptions().dtype(at::kLong)).to(x.device()));
        at::Tensor trial = at::minimum(squared_distances(x, norms, chosen), closest.unsqueeze(0)); // (trials, N)
        at::Tensor potentials = trial.sum(1);
        int64_t best = potentials.argmin().item<int64_t>();
        centres[c].copy_(chosen[best]);
        closest = trial.select(0, best).contiguous();
        potential = potentials[best].item<double>();
    }
    return centres;
}

// New centres from assignments; an empty cluster takes the point farthest from its centre, as
// scikit-learn relocates them.
at::Tensor update(const at::Tensor &x, const at::Tensor &labels, const at::Tensor &nearest, int64_t k) {
    at::Tensor sums = at::zeros({k, x.size(1)}, x.options()).index_add_(0, labels, x);
    at::Tensor counts = at::bincount(labels, {}, k).to(x.scalar_type());
    at::Tensor empty = (counts == 0).nonzero().flatten();
    if (empty.numel() > 0) {
        at::Tensor far = std::get<1>(nearest.topk(std::min<int64_t>(empty.numel(), x.size(0))));
        sums.index_copy_(0, empty, x.index_select(0, far.narrow(0, 0, empty.numel())));
        counts.index_fill_(0, empty, 1.0);
    }
    return sums / counts.unsqueeze(1);
}

at::Tensor lloyd(const at::Tensor &x, const at::Tensor &norms, at::Tensor centres, const dfs_kmeans_config &c,
                 double tolerance, int32_t *iterations) {
    at::Tensor labels, nearest;
    for (int32_t it = 0; it < c.max_iter; it++) {
        assign(x, norms, centres, labels, nearest);
        at::Tensor next = update(x, labels, nearest, c.k);
        double shift = (next - centres).pow(2).sum().item<double>();
        centres = next;
        *iterations = it + 1;
        if (shift <= tolerance) break;
    }
    return centres;
}

at::Tensor minibatch(const at::Tensor &x, at::Tensor centres, const dfs_kmeans_config &c, std::mt19937_64 &rng,
                     int32_t *iterations) {
    const int64_t n = x.size(0), batch = std::min(c.batch, n);
    at::Tensor counts = at::zeros({c.k}, x.options());
    for (int32_t it = 0; it < c.max_iter; it++) {
        std::vector<int64_t> picks(static_cast<size_t>(batch));
        for (auto &p : picks) p = static_cast<int64_t>(uniform(rng) * static_cast<double>(n)) % n;
        at::Tensor xb = x.index_select(0, at::tensor(picks, at::TensorOptions().dtype(at::kLong)).to(x.device()));
        at::Tensor labels, nearest;
        assign(xb, squared_norms(xb), centres, labels, nearest);
        at::Tensor sums = at::zeros_like(centres).index_add_(0, labels, xb);
        at::Tensor m = at::bincount(labels, {}, c.k).to(x.scalar_type());
        at::Tensor total = counts + m;
        // Each centre moves to the running mean of the points it has been given.
        at::Tensor moved = (centres * counts.unsqueeze(1) + sums) / total.clamp_min(1).unsqueeze(1);
        centres = at::where((m > 0).unsqueeze(1), moved, centres);
        counts = total;
        *iterations = it + 1;
    }
    return centres;
}

}  // namespace

extern "C" {

df_status dfs_kmeans_fit(const dfs_tensor_desc *points, const dfs_kmeans_config *config, dfs_tensor **centroids,
                         dfs_tensor_desc *centroids_desc, double *inertia, int32_t *iterations) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor x = dfs::view_of(*points).to(at::kFloat).contiguous();
        TORCH_CHECK(x.dim() == 2, "points must be (N, D)");
        if (config->cosine) x = normalised(x);
        std::mt19937_64 rng(config->seed);
        if (config->sample > 0 && config->sample < x.size(0)) {
            std::vector<int64_t> order(static_cast<size_t>(x.size(0)));
            for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int64_t>(i);
            for (int64_t i = 0; i < config->sample; i++) { // partial Fisher-Yates
                int64_t j = i + static_cast<int64_t>(uniform(rng) * static_cast<double>(x.size(0) - i)) % (x.size(0) - i);
                std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
            }
            order.resize(static_cast<size_t>(config->sample));
            x = x.index_select(0, at::tensor(order, at::TensorOptions().dtype(at::kLong)).to(x.device()));
        }
        TORCH_CHECK(config->k <= x.size(0), "k (", config->k, ") exceeds the number of points (", x.size(0), ")");
        const double tolerance = config->tol * x.var(0, false).mean().item<double>();
        const at::Tensor norms = squared_norms(x);
        double best_inertia = std::numeric_limits<double>::infinity();
        at::Tensor best;
        for (int32_t init = 0; init < config->inits; init++) {
            at::Tensor centres = kmeans_plus_plus(x, norms, config->k, rng);
            int32_t used = 0;
            centres = config->batch > 0 ? minibatch(x, centres, *config, rng, &used)
                                        : lloyd(x, norms, centres, *config, tolerance, &used);
            at::Tensor labels, nearest;
            assign(x, norms, centres, labels, nearest);
            double value = nearest.to(at::kDouble).sum().item<double>();
            if (value < best_inertia) {
                best_inertia = value;
                best = centres;
                *iterations = used;
            }
        }
        *inertia = best_inertia;
        return dfs::hand_out(best.contiguous(), centroids, centroids_desc);
    });
}

df_status dfs_kmeans_assign(const dfs_tensor_desc *points, const dfs_tensor_desc *centroids, int32_t cosine,
                            dfs_tensor **labels, dfs_tensor_desc *labels_desc, double *inertia) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor centres = dfs::view_of(*centroids).to(at::kFloat);
        at::Tensor x = dfs::view_of(*points).to(centres.device(), at::kFloat).contiguous();
        TORCH_CHECK(x.dim() == 2 && x.size(1) == centres.size(1), "points must be (N, ", centres.size(1), ")");
        if (cosine) x = normalised(x);
        at::Tensor result, nearest;
        assign(x, squared_norms(x), centres, result, nearest);
        *inertia = nearest.to(at::kDouble).sum().item<double>();
        return dfs::hand_out(result, labels, labels_desc);
    });
}

}  // extern "C"
