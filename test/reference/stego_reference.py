"""STEGO's correspondence loss in plain PyTorch, as the official code writes it
(mhamilton723/STEGO src/modules.py ContrastiveCorrelationLoss; specs/stego.md)."""
import torch
import torch.nn.functional as F


def norm(t):
    return F.normalize(t, dim=1, eps=1e-10)


def tensor_correlation(a, b):
    return torch.einsum("nchw,ncij->nhwij", a, b)


def sample(t, coords):
    return F.grid_sample(t, coords.permute(0, 2, 1, 3), padding_mode="border", align_corners=True)


def helper(f1, f2, c1, c2, shift, pointwise=True, zero_clamp=True, stabilize=False):
    with torch.no_grad():
        fd = tensor_correlation(norm(f1), norm(f2))
        if pointwise:
            old_mean = fd.mean()
            fd -= fd.mean([3, 4], keepdim=True)
            fd = fd - fd.mean() + old_mean
    cd = tensor_correlation(norm(c1), norm(c2))
    min_val = 0.0 if zero_clamp else -9999.0
    if stabilize:
        loss = -cd.clamp(min_val, .8) * (fd - shift)
    else:
        loss = -cd.clamp(min_val) * (fd - shift)
    return loss, cd


def pair_loss(f1, f2, s1, s2, coords1, coords2, shift, **switches):
    loss, _ = helper(sample(f1, coords1), sample(f2, coords2), sample(s1, coords1), sample(s2, coords2), shift,
                     **switches)
    return loss.mean()


def super_perm(size, device, generator=None):
    perm = torch.randperm(size, device=device, dtype=torch.long, generator=generator)
    perm[perm == torch.arange(size, device=device)] += 1
    return perm % size


def terms(f, s, f_pos, s_pos, coords1, coords2, perms, shifts=(0.18, 0.12, 0.46), **switches):
    """(self, knn, random) as the official forward, with its random draws given."""
    feats, code = sample(f, coords1), sample(s, coords1)
    feats_pos, code_pos = sample(f_pos, coords2), sample(s_pos, coords2)
    pos_intra, _ = helper(feats, feats, code, code, shifts[0], **switches)
    pos_inter, _ = helper(feats, feats_pos, code, code_pos, shifts[1], **switches)
    negatives = []
    for perm in perms:
        feats_neg, code_neg = sample(f[perm], coords2), sample(s[perm], coords2)
        neg, _ = helper(feats, feats_neg, code, code_neg, shifts[2], **switches)
        negatives.append(neg)
    return pos_intra.mean(), pos_inter.mean(), torch.cat(negatives, axis=0).mean()
