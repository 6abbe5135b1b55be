"""Data-parallel training (dinofeat/distributed.h): init() joins the process group that the
environment describes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as torchrun and
`dinofeat launch` set them); while it is up, the sempart, neco and stego trainers are data-parallel.
Store serves the rendezvous for ranks a Python program starts itself, as torchrun's agent does."""
import ctypes

from ._native import Handle, lib


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


class Store(Handle):
    """The rendezvous a launcher serves for its ranks: a TCPStore on port (0: one the system
    chooses, held until close()). Start the ranks with environment() added to theirs."""

    _free, _name = "df_distributed_store_free", "distributed.Store"

    def __init__(self, port=0):
        handle = ctypes.c_void_p()
        lib.df_distributed_store_new(int(port), ctypes.byref(handle))
        super().__init__(handle)

    @property
    def port(self):
        value = ctypes.c_int()
        lib.df_distributed_store_port(self.handle, ctypes.byref(value))
        return value.value

    def environment(self, rank, world_size, address="127.0.0.1"):
        """The variables of rank (of world_size) that join this store, as torchrun sets them."""
        return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
                "LOCAL_WORLD_SIZE": str(world_size), "MASTER_ADDR": address, "MASTER_PORT": str(self.port),
                "TORCHELASTIC_USE_AGENT_STORE": "True", "TORCHELASTIC_RESTART_COUNT": "0"}


__all__ = ["init", "rank", "barrier", "shutdown", "Store"]
