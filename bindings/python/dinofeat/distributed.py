"""Data-parallel training (dinofeat/distributed.h): init() joins the process group that the
environment describes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as torchrun and
`dinofeat launch` set them); while it is up, the sempart, neco and stego trainers are data-parallel."""
import ctypes

from ._native import lib


def init(timeout=None, bucket_mb=None):
    """Joins the group (nothing with WORLD_SIZE unset or 1); timeout: seconds a rendezvous or
    collective waits for missing peers (default 300); bucket_mb: MiB of gradients per all-reduce
    started while backward goes on (default 25)."""
    from .core import Options, Param
    with Options() as options:
        if timeout is not None:
            options[Param.DISTRIBUTED_TIMEOUT] = int(timeout)
        if bucket_mb is not None:
            options[Param.DISTRIBUTED_BUCKET_MB] = float(bucket_mb)
        lib.df_distributed_init(options.handle)


def rank():
    """(rank, world size); (0, 1) without a group."""
    r, w = ctypes.c_int(), ctypes.c_int()
    lib.df_distributed_rank(ctypes.byref(r), ctypes.byref(w))
    return r.value, w.value


def barrier():
    lib.df_distributed_barrier()


def shutdown():
    lib.df_distributed_shutdown()


__all__ = ["init", "rank", "barrier", "shutdown"]
