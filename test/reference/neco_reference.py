"""NeCo's loss as the official code computes it (vpariza/NeCo src/neco.py; specs/neco.md), over the
dense-matrix sorting networks of diffsort_reference.py: the reference df_neco_loss is tested
against."""
import torch
import torch.nn.functional as F

from diffsort_reference import bitonic_network, odd_even_network, sort


def neco_loss(student, teacher, refs, steepness=100.0, network="bitonic", sigmoid="cauchy", euclidean=False,
              symmetric=False):
    """student, teacher (B, Nq, d), refs (B, R, d) -> the loss (a scalar tensor)."""
    def distances(q):
        if euclidean:
            return torch.cdist(q, refs)
        return F.normalize(q, dim=-1) @ F.normalize(refs, dim=-1).transpose(1, 2)

    r = refs.shape[1]
    layers = bitonic_network(r) if network == "bitonic" else odd_even_network(r)
    _, p_s = sort(layers, distances(student).reshape(-1, r), steepness=steepness, sigmoid=sigmoid)
    with torch.no_grad():
        _, p_t = sort(layers, distances(teacher).reshape(-1, r), steepness=steepness, sigmoid=sigmoid)
    loss = -(p_t * torch.log(p_s)).sum(-1).mean()
    if symmetric:
        loss = loss - (p_s * torch.log(p_t)).sum(-1).mean()
    return loss
