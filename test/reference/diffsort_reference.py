"""Differentiable sorting networks as the reference code builds them (Petersen et al. 2021,
github Felix-Petersen/diffsort, functional.py and networks.py; specs/neco.md): dense selector
and combiner matrices per layer, n x n matrix products. The reference the library's
column-update implementation is tested against."""
import math

import numpy as np
import torch

IDENTITY_MAP_FACTOR = 0.5


def odd_even_network(n):
    layers = []
    for layer in range(n):
        split_a, split_b = np.zeros((n + 2, n)), np.zeros((n + 2, n))
        combine_min, combine_max = np.zeros((n, n + 2)), np.zeros((n, n + 2))
        count = 0
        for i in range(layer % 2, n - 1, 2):
            split_a[count, i], split_b[count, i + 1] = 1, 1
            combine_min[i, count], combine_max[i + 1, count] = 1, 1
            count += 1
        # wires without a partner in this layer stay where they are: identity comparators
        unpaired = ([0] if layer % 2 else []) + ([n - 1] if (n - layer % 2) % 2 else [])
        for i in unpaired:
            split_a[count, i], split_b[count, i] = 1, 1
            combine_min[i, count] = combine_max[i, count] = IDENTITY_MAP_FACTOR
            count += 1
        layers.append((split_a[:count], split_b[:count], combine_min[:, :count], combine_max[:, :count]))
    return layers


def bitonic_network(n):
    blocks = math.ceil(np.log2(n))
    size = 2 ** blocks
    pad = size - n
    layers = []
    for block in range(blocks):
        for layer in range(block + 1):
            m = 2 ** (block - layer)
            split_a, split_b = np.zeros((size, n)), np.zeros((size, n))
            combine_min, combine_max = np.zeros((n, size)), np.zeros((n, size))
            count = 0
            for i in range(0, size, 2 * m):
                for j in range(m):
                    ix = i + j
                    a, b = ix, ix + m
                    if a >= pad and b >= pad:
                        split_a[count, a - pad], split_b[count, b - pad] = 1, 1
                        if (ix // 2 ** (block + 1)) % 2 == 1:
                            a, b = b, a
                        combine_min[a - pad, count], combine_max[b - pad, count] = 1, 1
                        count += 1
                    elif a < pad <= b:
                        split_a[count, b - pad], split_b[count, b - pad] = 1, 1
                        combine_min[b - pad, count] = combine_max[b - pad, count] = IDENTITY_MAP_FACTOR
                        count += 1
            layers.append((split_a[:count], split_b[:count], combine_min[:, :count], combine_max[:, :count]))
    return layers


def alpha_of(a, b, steepness, sigmoid, art_lambda=0.25):
    v = steepness * (b - a)
    if sigmoid == "logistic":
        return torch.sigmoid(v)
    if sigmoid == "logistic_phi":
        return torch.sigmoid(v / ((a - b).abs() + 1e-10).pow(art_lambda))
    if sigmoid == "gaussian":
        return 0.5 * (1 + torch.erf(v / math.sqrt(2)))
    if sigmoid == "reciprocal":
        return 0.5 * (v / (2 + v.abs()) + 1)
    if sigmoid == "cauchy":
        return torch.atan(v) / math.pi + 0.5
    if sigmoid == "optimal":
        return 0.5 + v.clamp(-0.25, 0.25) + (0.25 - 1 / 16 / (v.abs() + 1e-10)).clamp(min=0) * v.sign()
    raise ValueError(sigmoid)


def sort(network, vectors, steepness=10.0, sigmoid="cauchy"):
    """vectors (rows, n) -> (sorted (rows, n), P (rows, n, n)), as diffsort's functional.sort."""
    n = vectors.shape[1]
    x = torch.eye(n, dtype=vectors.dtype).expand(vectors.shape[0], n, n)
    for split_a, split_b, combine_min, combine_max in network:
        split_a, split_b, combine_min, combine_max = (torch.from_numpy(m).to(vectors.dtype)
                                                      for m in (split_a, split_b, combine_min, combine_max))
        a, b = vectors @ split_a.T, vectors @ split_b.T
        alpha = alpha_of(a, b, steepness, sigmoid)
        ax, bx = x @ split_a.T, x @ split_b.T
        w_min = alpha.unsqueeze(-2) * ax + (1 - alpha).unsqueeze(-2) * bx
        w_max = (1 - alpha).unsqueeze(-2) * ax + alpha.unsqueeze(-2) * bx
        x = (w_max @ combine_max.T.unsqueeze(-3)) + (w_min @ combine_min.T.unsqueeze(-3))
        vectors = (alpha * a + (1 - alpha) * b) @ combine_min.T + ((1 - alpha) * a + alpha * b) @ combine_max.T
    return vectors, x
