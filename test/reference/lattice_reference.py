"""The dense CRF with the permutohedral-lattice filter (shared/specs/crf.md; Adams, Baek and Davis
2010, as densecrf's permutohedral.cpp applies it), written as linear algebra in numpy: the lattice
is a splat matrix S (vertices x points) of barycentric weights and a blur B_j per lattice
direction, so the filter is c S^T B_d ... B_0 S with c = 1 / (1 + 2^-d). The pixel's weight to
itself, which the CRF leaves out of its message, is the diagonal of that operator, read off the
matrices here (the library enumerates blur paths instead).

Where a point falls decides which lattice vertices exist, and the blur passes values only through
existing vertices, so the embedding is computed in float32 with the library's order of operations
(a point on a simplex face must land on the same side); everything after it is float64.
"""
import numpy as np
import scipy.sparse as sp

F = np.float32


def embed(features):
    """features (n, d) float32, already divided by the standard deviations. Returns the keys
    (n, d + 1, d) int64 of each point's simplex corners and their barycentric weights (n, d + 1)."""
    n, d = features.shape
    inv_std = np.sqrt(F(2) / F(3)) * F(d + 1)
    down = F(1) / F(d + 1)
    elevated = np.zeros((n, d + 1), F)
    total = np.zeros(n, F)
    for j in range(d, 0, -1):
        cf = features[:, j - 1] * inv_std / np.sqrt(F((j + 1) * j))
        elevated[:, j] = total - F(j) * cf
        total = total + cf
    elevated[:, 0] = total
    v = down * elevated
    up, dn = np.ceil(v) * F(d + 1), np.floor(v) * F(d + 1)
    rem0 = np.where(up - elevated < elevated - dn, up, dn).astype(np.int64)
    shift = rem0.sum(1) // (d + 1)
    residual = elevated - rem0.astype(F)
    rank = np.zeros((n, d + 1), np.int64)
    for i in range(d):
        for j in range(i + 1, d + 1):
            smaller = residual[:, i] < residual[:, j]
            rank[:, i] += smaller
            rank[:, j] += ~smaller
    rank += shift[:, None]
    low, high = rank < 0, rank > d
    rank[low] += d + 1
    rem0[low] += d + 1
    rank[high] -= d + 1
    rem0[high] -= d + 1
    barycentric = np.zeros((n, d + 2), F)
    rows = np.arange(n)
    for i in range(d + 1):
        value = (elevated[:, i] - rem0[:, i].astype(F)) * down
        barycentric[rows, d - rank[:, i]] += value
        barycentric[rows, d - rank[:, i] + 1] -= value
    barycentric[:, 0] += F(1) + barycentric[:, d + 1]
    keys = np.empty((n, d + 1, d), np.int64)
    for r in range(d + 1):
        keys[:, r, :] = rem0[:, :d] + np.where(rank[:, :d] <= d - r, r, r - (d + 1))
    return keys, barycentric[:, : d + 1]


class Lattice:
    """The filter as matrices: S (m x n) and the product of the blurs."""

    def __init__(self, features):
        n, d = features.shape
        keys, weights = embed(np.asarray(features, F))
        index = {}
        vertex = np.empty((n, d + 1), np.int64)
        for i in range(n):
            for r in range(d + 1):
                vertex[i, r] = index.setdefault(tuple(keys[i, r]), len(index))
        m = len(index)
        self.d, self.n, self.m = d, n, m
        self.splat = sp.csr_matrix((weights.astype(np.float64).reshape(-1), (vertex.reshape(-1),
                                    np.repeat(np.arange(n), d + 1))), shape=(m, n))
        table = np.array(sorted(index, key=index.get), np.int64).reshape(m, d)
        blur = sp.identity(m, format="csr")
        for j in range(d + 1):
            step = np.ones(d, np.int64)
            if j < d:
                step[j] = -d  # -n_j = 1 - (d + 1) e_j, on the first d coordinates
            rows, cols = [], []
            for sign in (1, -1):
                for v in range(m):
                    u = index.get(tuple(table[v] + sign * step))
                    if u is not None:
                        rows.append(v)
                        cols.append(u)
            b = sp.identity(m, format="csr") + sp.csr_matrix((np.full(len(rows), 0.5), (rows, cols)), shape=(m, m))
            blur = b @ blur
        self.blurred_splat = blur @ self.splat  # (m x n): B_d ... B_0 S
        self.scale = 1.0 / (1.0 + 2.0 ** -d)
        self.self_weight = self.scale * np.asarray(self.splat.multiply(self.blurred_splat).sum(0)).reshape(-1)

    def filter(self, values):
        """c S^T B S values, the pixel itself included."""
        return self.scale * (self.splat.T @ (self.blurred_splat @ values))


def features_of(rgb, sxy, srgb=None):
    """The kernel's features as the library makes them: float32 of x / sxy, y / sxy, colour / srgb."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    columns = [(xx.reshape(-1) / sxy).astype(F), (yy.reshape(-1) / sxy).astype(F)]
    if srgb is not None:
        columns += [(rgb[..., c].reshape(-1).astype(np.float64) / srgb).astype(F) for c in range(3)]
    return np.stack(columns, 1)


def softmax_negative(energy):
    e = energy - energy.min(1, keepdims=True)
    p = np.exp(-e)
    return p / p.sum(1, keepdims=True)


def mean_field(rgb, unary, iterations=10, gaussian=(3.0, 10.0), bilateral=(80.0, 13.0, 10.0), symmetric=True):
    """unary (H*W, L) energies; returns Q (H*W, L). Messages leave the pixel out; the symmetric
    normalisation's degrees keep it in (as pydensecrf's NORMALIZE_SYMMETRIC); without
    normalisation the kernel is scaled by sqrt(n / sum of self weights), undoing the lattice's
    overall attenuation."""
    kernels = []
    if gaussian[1] > 0:
        kernels.append((Lattice(features_of(rgb, gaussian[0])), gaussian[1]))
    if bilateral[2] > 0:
        kernels.append((Lattice(features_of(rgb, bilateral[0], bilateral[1])), bilateral[2]))
    q = softmax_negative(unary)
    normed = []
    for lattice, compat in kernels:
        if symmetric:
            norm = 1.0 / np.sqrt(lattice.filter(np.ones(lattice.n)) + 1e-20)
        else:
            norm = np.full(lattice.n, np.sqrt(lattice.n / lattice.self_weight.sum()))
        normed.append((lattice, norm, compat))
    for _ in range(iterations):
        energy = unary.copy()
        for lattice, norm, compat in normed:
            scaled = norm[:, None] * q
            message = lattice.filter(scaled) - lattice.self_weight[:, None] * scaled
            energy -= compat * norm[:, None] * message
        q = softmax_negative(energy)
    return q
