// Differentiable sorting networks (Petersen et al. 2021; specs/neco.md): odd-even and bitonic
// networks of relaxed compare-and-swaps with six sigmoids, returning the sorted values and the
// relaxed permutation matrix P. The reference builds dense selector matrices and multiplies n x n
// matrices per layer (O(n^3)); here each layer updates only its compared columns in place (O(n^2)
// for P, O(n) for the values), the same arithmetic per entry, one row at a time (its P stays in
// cache) on libtorch's thread pool, with an analytic backward pass over the same form.
#include "fence.hpp"
#include "neco_internal.hpp"
#include "tensor_util.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

// One layer: comparator k reads wires a[k] and b[k] (alpha from x_b - x_a) and writes the
// relaxed minimum to wire lo[k], the maximum to hi[k].
struct layer {
    std::vector<int64_t> a, b, lo, hi;
};

std::vector<layer> odd_even(int64_t n) {
    std::vector<layer> layers;
    for (int64_t l = 0; l < n; l++) {
        layer y;
        for (int64_t i = l % 2; i + 1 < n; i += 2) y.a.push_back(i), y.b.push_back(i + 1), y.lo.push_back(i), y.hi.push_back(i + 1);
        if (!y.a.empty()) layers.push_back(y);
    }
    return layers;
}

// Padding wires come first, as in the reference; comparators touching one are identities (the
// reference's 0.5 / 0.5 maps of one wire onto itself) and are left out.
std::vector<layer> bitonic(int64_t n) {
    int64_t blocks = 0;
    while ((int64_t(1) << blocks) < n) blocks++;
    const int64_t size = int64_t(1) << blocks, pad = size - n;
    std::vector<layer> layers;
    for (int64_t block = 0; block < blocks; block++)
        for (int64_t l = 0; l <= block; l++) {
            const int64_t m = int64_t(1) << (block - l);
            layer y;
            for (int64_t i = 0; i < size; i += 2 * m)
                for (int64_t j = 0; j < m; j++) {
                    const int64_t ix = i + j, a = ix, b = ix + m;
                    if (a < pad) continue;
                    const bool descending = ((ix >> (block + 1)) & 1) == 1;
                    y.a.push_back(a - pad), y.b.push_back(b - pad);
                    y.lo.push_back((descending ? b : a) - pad), y.hi.push_back((descending ? a : b) - pad);
                }
            if (!y.a.empty()) layers.push_back(y);
        }
    return layers;
}

// The relaxed swap's weight alpha(d) of d = x_b - x_a and its derivative, exactly as the
// reference's formulas and the derivatives libtorch's autograd takes of them.
template <class T>
struct swap_weight {
    int32_t sigmoid;
    T steepness;

    T alpha(T d) const {
        const T v = steepness * d;
        switch (sigmoid) {
        case DF_SORT_LOGISTIC: return T(1) / (T(1) + std::exp(-v));
        case DF_SORT_LOGISTIC_PHI: return T(1) / (T(1) + std::exp(-v / std::pow(std::abs(d) + T(1e-10), T(0.25))));
        case DF_SORT_RECIPROCAL: return T(0.5) * (v / (T(2) + std::abs(v)) + T(1));
        case DF_SORT_GAUSSIAN: return T(0.5) * (T(1) + std::erf(v / std::sqrt(T(2))));
        case DF_SORT_OPTIMAL: {
            const T tail = T(0.25) - T(1) / T(16) / (std::abs(v) + T(1e-10));
            return T(0.5) + std::min(std::max(v, T(-0.25)), T(0.25)) + (tail > 0 ? tail : T(0)) * sign(v);
        }
        default: return std::atan(v) / T(M_PI) + T(0.5);
        }
    }

    T derivative(T d) const {
        const T v = steepness * d;
        switch (sigmoid) {
        case DF_SORT_LOGISTIC: {
            const T a = alpha(d);
            return steepness * a * (T(1) - a);
        }
        case DF_SORT_LOGISTIC_PHI: {
            const T scale = std::pow(std::abs(d) + T(1e-10), T(-0.25)), a = alpha(d);
            return a * (T(1) - a) * steepness * scale * (T(1) - T(0.25) * std::abs(d) / (std::abs(d) + T(1e-10)));
        }
        case DF_SORT_RECIPROCAL: return steepness / ((T(2) + std::abs(v)) * (T(2) + std::abs(v)));
        case DF_SORT_GAUSSIAN: return steepness * std::exp(-v * v / T(2)) / std::sqrt(T(2 * M_PI));
        case DF_SORT_OPTIMAL: {
            const T inside = v >= T(-0.25) && v <= T(0.25) ? T(1) : T(0), m = std::abs(v) + T(1e-10);
            const T tail = T(0.25) - T(1) / T(16) / m > 0 ? T(1) / (T(16) * m * m) : T(0);
            return steepness * (inside + tail);
        }
        default: return steepness / (T(M_PI) * (T(1) + v * v));
        }
    }

    static T sign(T v) { return v > 0 ? T(1) : v < 0 ? T(-1) : T(0); }
};

// One row through the network, in place: x (n) the values; p (n x n, P[i][pos], may be null)
// starts as the identity. With keep_x / keep_p, the values and P before each layer are kept
// (layers x n, layers x n x n) for the backward pass.
template <class T>
void forward_row(const std::vector<layer> &layers, const swap_weight<T> &w, int64_t n, T *x, T *p, T *keep_x,
                 T *keep_p) {
    if (p) {
        std::fill(p, p + n * n, T(0));
        for (int64_t i = 0; i < n; i++) p[i * n + i] = T(1);
    }
    std::vector<T> alphas;
    for (size_t l = 0; l < layers.size(); l++) {
        const layer &y = layers[l];
        const size_t k = y.a.size();
        if (keep_x) std::copy(x, x + n, keep_x + l * n);
        if (keep_p) std::copy(p, p + n * n, keep_p + l * n * n);
        alphas.resize(k);
        for (size_t c = 0; c < k; c++) {
            const T xa = x[y.a[c]], xb = x[y.b[c]], a = w.alpha(xb - xa);
            alphas[c] = a;
            x[y.lo[c]] = a * xa + (T(1) - a) * xb;
            x[y.hi[c]] = (T(1) - a) * xa + a * xb;
        }
        for (int64_t i = 0; p && i < n; i++) { // rows of P: contiguous, the layer's columns disjoint
            T *r = p + i * n;
            for (size_t c = 0; c < k; c++) {
                const T pa = r[y.a[c]], pb = r[y.b[c]], a = alphas[c];
                r[y.lo[c]] = a * pa + (T(1) - a) * pb;
                r[y.hi[c]] = (T(1) - a) * pa + a * pb;
            }
        }
    }
}

// The gradient of one row: g (n) holds d/d sorted on entry (zeros for none) and d/d values on
// exit; gp (n x n, may be null) d/d P, overwritten. keep_x, keep_p from forward_row.
template <class T>
void backward_row(const std::vector<layer> &layers, const swap_weight<T> &w, int64_t n, T *g, T *gp, const T *keep_x,
                  const T *keep_p) {
    std::vector<T> grad_alpha, alphas;
    for (size_t l = layers.size(); l-- > 0;) {
        const layer &y = layers[l];
        const size_t k = y.a.size();
        const T *x = keep_x + l * n;
        grad_alpha.assign(k, T(0));
        alphas.resize(k);
        for (size_t c = 0; c < k; c++) alphas[c] = w.alpha(x[y.b[c]] - x[y.a[c]]);
        for (int64_t i = 0; gp && i < n; i++) {
            T *r = gp + i * n;
            const T *pr = keep_p + l * n * n + i * n;
            for (size_t c = 0; c < k; c++) {
                const T a = alphas[c], lo = r[y.lo[c]], hi = r[y.hi[c]];
                grad_alpha[c] += (lo - hi) * (pr[y.a[c]] - pr[y.b[c]]);
                r[y.a[c]] = a * lo + (T(1) - a) * hi;
                r[y.b[c]] = (T(1) - a) * lo + a * hi;
            }
        }
        for (size_t c = 0; c < k; c++) {
            const T xa = x[y.a[c]], xb = x[y.b[c]], a = alphas[c], lo = g[y.lo[c]], hi = g[y.hi[c]];
            const T through = (grad_alpha[c] + (lo - hi) * (xa - xb)) * w.derivative(xb - xa);
            g[y.a[c]] = a * lo + (T(1) - a) * hi - through;
            g[y.b[c]] = (T(1) - a) * lo + a * hi + through;
        }
    }
}

std::vector<layer> network_of(int32_t network, int64_t n) { return network == DF_SORT_ODD_EVEN ? odd_even(n) : bitonic(n); }

at::Tensor rows_of(const dfs_tensor_desc *desc) {
    at::Tensor x = dfs::view_of(*desc);
    TORCH_CHECK(x.dim() == 2 && x.size(1) >= 1, "values must be (rows, n)");
    return (x.scalar_type() == at::kDouble ? x : x.to(at::kFloat)).to(at::kCPU).contiguous();
}

// Rows in parallel on libtorch's pool, each with its own scratch.
template <class T>
void sort_rows(const at::Tensor &values, int32_t network, int32_t sigmoid, double steepness, at::Tensor &sorted,
               at::Tensor *permutation) {
    const int64_t rows = values.size(0), n = values.size(1);
    const auto layers = network_of(network, n);
    const swap_weight<T> w{sigmoid, T(steepness)};
    sorted = values.clone();
    if (permutation) *permutation = at::empty({rows, n, n}, values.options());
    T *x = sorted.data_ptr<T>(), *p = permutation ? permutation->data_ptr<T>() : nullptr;
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; r++) forward_row(layers, w, n, x + r * n, p ? p + r * n * n : nullptr, (T *)nullptr, (T *)nullptr);
    });
}

template <class T>
at::Tensor gradient_rows(const at::Tensor &values, int32_t network, int32_t sigmoid, double steepness,
                         const at::Tensor &grad_sorted, const at::Tensor &grad_p) {
    const int64_t rows = values.size(0), n = values.size(1);
    const auto layers = network_of(network, n);
    const int64_t depth = static_cast<int64_t>(layers.size());
    const swap_weight<T> w{sigmoid, T(steepness)};
    at::Tensor grad = grad_sorted.defined() ? grad_sorted.clone() : at::zeros_like(values);
    at::Tensor gp = grad_p.defined() ? grad_p.clone() : at::Tensor();
    const T *v = values.data_ptr<T>();
    T *g = grad.data_ptr<T>(), *q = gp.defined() ? gp.data_ptr<T>() : nullptr;
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
        std::vector<T> x(n), keep_x(depth * n), p(q ? n * n : 0), keep_p(q ? depth * n * n : 0);
        for (int64_t r = begin; r < end; r++) {
            std::copy(v + r * n, v + (r + 1) * n, x.begin());
            forward_row(layers, w, n, x.data(), q ? p.data() : nullptr, keep_x.data(), q ? keep_p.data() : nullptr);
            backward_row(layers, w, n, g + r * n, q ? q + r * n * n : nullptr, keep_x.data(), q ? keep_p.data() : nullptr);
        }
    });
    return grad;
}

}  // namespace

namespace dfs {

at::Tensor diffsort_permutation(const at::Tensor &rows, int32_t network, int32_t sigmoid, double steepness) {
    at::Tensor s, p;
    if (rows.scalar_type() == at::kDouble) sort_rows<double>(rows, network, sigmoid, steepness, s, &p);
    else sort_rows<float>(rows, network, sigmoid, steepness, s, &p);
    return p;
}

at::Tensor diffsort_permutation_vjp(const at::Tensor &rows, int32_t network, int32_t sigmoid, double steepness,
                                    const at::Tensor &grad_p) {
    return rows.scalar_type() == at::kDouble
               ? gradient_rows<double>(rows, network, sigmoid, steepness, at::Tensor(), grad_p.contiguous())
               : gradient_rows<float>(rows, network, sigmoid, steepness, at::Tensor(), grad_p.contiguous());
}

}  // namespace dfs

extern "C" df_status dfs_diffsort(const dfs_tensor_desc *values, int32_t network, int32_t sigmoid, double steepness,
                                  dfs_tensor **sorted, dfs_tensor_desc *sorted_desc, dfs_tensor **permutation,
                                  dfs_tensor_desc *permutation_desc) noexcept {
    DFS_FENCE({
        at::Tensor x = rows_of(values), s, p;
        if (x.scalar_type() == at::kDouble) sort_rows<double>(x, network, sigmoid, steepness, s, permutation ? &p : nullptr);
        else sort_rows<float>(x, network, sigmoid, steepness, s, permutation ? &p : nullptr);
        const at::Device device = dfs::view_of(*values).device();
        df_status status = dfs::hand_out(s.to(device), sorted, sorted_desc);
        if (status == DF_OK && permutation) status = dfs::hand_out(p.to(device), permutation, permutation_desc);
        return status;
    });
}

extern "C" df_status dfs_diffsort_backward(const dfs_tensor_desc *values, int32_t network, int32_t sigmoid,
                                           double steepness, const dfs_tensor_desc *grad_sorted,
                                           const dfs_tensor_desc *grad_permutation, dfs_tensor **grad,
                                           dfs_tensor_desc *grad_desc) noexcept {
    DFS_FENCE({
        at::Tensor x = rows_of(values);
        at::Tensor gs = grad_sorted ? dfs::view_of(*grad_sorted).to(x.options()).contiguous() : at::Tensor();
        at::Tensor gp = grad_permutation ? dfs::view_of(*grad_permutation).to(x.options()).contiguous() : at::Tensor();
        at::Tensor g = x.scalar_type() == at::kDouble ? gradient_rows<double>(x, network, sigmoid, steepness, gs, gp)
                                                      : gradient_rows<float>(x, network, sigmoid, steepness, gs, gp);
        return dfs::hand_out(g.to(dfs::view_of(*values).device()), grad, grad_desc);
    });
}
