"""Exact dense-CRF mean-field inference (shared/specs/crf.md), written plainly in numpy: every
pixel pair, float64, the pixel itself excluded from its message (but counted in the degrees of
the symmetric normalisation, as pydensecrf counts it)."""
import numpy as np


def kernel_matrix(rgb, sxy, srgb=None):
    """K_ij = exp(-|p_i - p_j|^2 / (2 sxy^2) [- |I_i - I_j|^2 / (2 srgb^2)]), zero diagonal."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    feats = [xx.reshape(-1) / sxy, yy.reshape(-1) / sxy]
    if srgb is not None:
        feats += [rgb[..., c].reshape(-1).astype(np.float64) / srgb for c in range(3)]
    f = np.stack(feats, 1)
    d2 = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
    k = np.exp(-0.5 * d2)
    np.fill_diagonal(k, 0.0)
    return k


def softmax_negative(energy):
    e = energy - energy.min(1, keepdims=True)
    p = np.exp(-e)
    return p / p.sum(1, keepdims=True)


def mean_field(rgb, unary, iterations=10, gaussian=(3.0, 10.0), bilateral=(80.0, 13.0, 10.0),
               symmetric=True):
    """unary: (H*W, L) energies. Returns Q (H*W, L)."""
    kernels = []
    if gaussian[1] > 0:
        kernels.append((kernel_matrix(rgb, gaussian[0]), gaussian[1]))
    if bilateral[2] > 0:
        kernels.append((kernel_matrix(rgb, bilateral[0], bilateral[1]), bilateral[2]))
    q = softmax_negative(unary)
    if not kernels:
        return q
    normed = []
    for k, compat in kernels:
        # degrees with the pixel itself (K_ii = 1), as pydensecrf's NORMALIZE_SYMMETRIC
        norm = 1.0 / np.sqrt(k.sum(1) + 1.0) if symmetric else np.ones(k.shape[0])
        normed.append((norm[:, None] * k * norm[None, :], compat))
    for _ in range(iterations):
        energy = unary.copy()
        for k, compat in normed:
            energy -= compat * (k @ q)
        q = softmax_negative(energy)
    return q
