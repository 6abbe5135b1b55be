"""NeCo (specs/neco.md): the differentiable sorting networks its loss ranks with
(dinofeat/neco.h). Values are (rows, n) float32 or float64 arrays."""
import ctypes

from ._native import lib
from .sempart import _gradients, _tensor

NETWORKS = {"bitonic": 0, "odd_even": 1}
SIGMOIDS = {"cauchy": 0, "logistic": 1, "logistic_phi": 2, "reciprocal": 3, "gaussian": 4, "optimal": 5}


def sort(values, network="bitonic", sigmoid="cauchy", steepness=10.0, permutation=True):
    """(sorted (rows, n), P (rows, n, n)) of each row sorted ascending by the relaxed network; P[r, i, p]
    is input i's weight at position p. permutation=False returns the sorted values alone."""
    s, p = ctypes.c_void_p(), ctypes.c_void_p()
    x = _tensor(values)
    lib.df_diffsort(x.handle, NETWORKS[network], SIGMOIDS[sigmoid], float(steepness), ctypes.byref(s),
                    ctypes.byref(p) if permutation else None)
    out = _gradients(s, p) if permutation else _gradients(s)
    return tuple(out) if permutation else out[0]


def sort_backward(values, grad_sorted=None, grad_permutation=None, network="bitonic", sigmoid="cauchy",
                  steepness=10.0):
    """d/d values of sum(grad_sorted * sorted) + sum(grad_permutation * P)."""
    g = ctypes.c_void_p()
    x = _tensor(values)
    gs = _tensor(grad_sorted) if grad_sorted is not None else None
    gp = _tensor(grad_permutation) if grad_permutation is not None else None
    lib.df_diffsort_backward(x.handle, NETWORKS[network], SIGMOIDS[sigmoid], float(steepness),
                             gs.handle if gs else None, gp.handle if gp else None, ctypes.byref(g))
    return _gradients(g)[0]





def loss(student, teacher, refs, gradient=True, **settings):
    """NeCo's loss of student and teacher patch features (B, Nq, d) against references (B, R, d):
    (loss, d loss / d student) or, with gradient=False, the loss. settings override neco.* values
    (steepness=100, network="bitonic", sigmoid="cauchy", euclidean=False, symmetric=False)."""
    from .core import Options, Param
    value, g = ctypes.c_double(), ctypes.c_void_p()
    s, t, r = _tensor(student), _tensor(teacher), _tensor(refs)
    with Options() as options:
        for name, setting in settings.items():
            tables = {"network": NETWORKS, "sigmoid": SIGMOIDS}
            options[Param["NECO_" + name.upper()]] = tables[name][setting] if name in tables else setting
        lib.df_neco_loss(s.handle, t.handle, r.handle, options.handle, ctypes.byref(value),
                         ctypes.byref(g) if gradient else None)
    return (value.value, _gradients(g)[0]) if gradient else value.value

__all__ = ["sort", "sort_backward", "loss", "NETWORKS", "SIGMOIDS"]
