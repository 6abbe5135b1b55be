// Attention under autograd, forward and backward of one ViT-S layer's heads (6 x 64), in one
// process per measurement: dinofeat's (the fused forward pass, then the
// blockwise-recomputing backward of shim/attention.cpp) or the unfused softmax(q k^T) v that
// autograd differentiates by keeping the N x N weights (what the official DINOv2 code runs on a CPU
// without xformers). Prints one JSON line: the median seconds of forward + backward and the peak
// memory the first pass added (resident set, MB). `check` first compares the two sides' gradients.
#include "../../shim/attention.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

double peak_mb() {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 5 || (std::strcmp(argv[1], "ours") != 0 && std::strcmp(argv[1], "unfused") != 0 &&
                      std::strcmp(argv[1], "check") != 0)) {
        std::fprintf(stderr, "usage: %s ours|unfused|check BATCH TOKENS REPEATS\n", argv[0]);
        return 2;
    }
    const bool ours = std::strcmp(argv[1], "ours") == 0, check = std::strcmp(argv[1], "check") == 0;
    const int64_t batch = std::atoll(argv[2]), n = std::atoll(argv[3]), heads = 6, hd = 64;
    const int repeats = std::max(1, std::atoi(argv[4]));
    at::manual_seed(0);
    const at::Tensor qkv = at::randn({batch, n, 3, heads, hd}).requires_grad_(true);
    const at::Tensor seed = at::randn({batch, heads, n, hd});
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const auto gradient = [&](bool fused) {
        const at::Tensor q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2),
                         v = qkv.select(2, 2).transpose(1, 2);
        const at::Tensor out = fused ? dfs::attend(q, k, v, scale, 0)
                                     : at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
        torch::autograd::backward({(out * seed).sum()});
        at::Tensor result = qkv.grad().clone();
        qkv.grad().zero_();
        return result;
    };
    if (check) {
        // Both sides sum float32 products over the tokens in different orders: a relative difference
        // of a few hundred float32 units per term is agreement, a wrong formula is of order one.
        const at::Tensor a = gradient(true), b = gradient(false);
        const double difference = (a - b).abs().max().item<double>(), magnitude = b.abs().max().item<double>();
        const double bound = 1e-7 * static_cast<double>(n + hd) * 8.0 * magnitude;
        std::printf("{\"max_difference\": %.3g, \"bound\": %.3g}\n", difference, bound);
        return difference <= bound ? 0 : 1;
    }
    const auto pass = [&]() { gradient(ours); };
    const double before = peak_mb();
    pass();
    const double extra = peak_mb() - before;
    std::vector<double> times;
    for (int r = 0; r < repeats; r++) {
        const auto start = std::chrono::steady_clock::now();
        pass();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    std::printf("{\"seconds\": %.6f, \"extra_mb\": %.1f}\n", times[times.size() / 2], extra);
    return 0;
}
