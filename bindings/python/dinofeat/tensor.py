"""df_tensor <-> numpy: zero-copy views of host tensors, copies otherwise."""
import ctypes
import enum

from ._native import Handle, TensorView, _numpy, choice, count_arg, lib, text_arg


class DType(enum.IntEnum):
    FLOAT32 = 1
    FLOAT16 = 2
    BFLOAT16 = 3
    FLOAT64 = 4
    UINT8 = 10
    INT32 = 11
    INT64 = 12


# bfloat16 has no numpy type: such tensors are copied out as float32.
_NUMPY_TYPES = {DType.FLOAT32: "<f4", DType.FLOAT16: "<f2", DType.FLOAT64: "<f8", DType.UINT8: "|u1",
                DType.INT32: "<i4", DType.INT64: "<i8"}


_DTYPES = {**{d: int(d) for d in DType}, **{d.name.lower(): int(d) for d in DType}}


class _Exported:
    """Hands numpy a memory block while keeping its owner alive (numpy keeps this as .base)."""

    def __init__(self, owner, address, shape, typestr, strides, readonly):
        self._owner = owner
        self.__array_interface__ = {"data": (address, readonly), "shape": tuple(shape), "typestr": typestr,
                                    "strides": None if strides is None else tuple(strides), "version": 3}


def device_available(device):
    out = ctypes.c_int()
    lib.df_device_available(text_arg(device, "device_available: device"), ctypes.byref(out))
    return bool(out.value)


def _shape_array(shape):
    return (ctypes.c_int64 * max(len(shape), 1))(*shape)


class Tensor(Handle):
    """An owned df_tensor. Build one with Tensor.from_numpy / Tensor.zeros; read with .numpy()."""

    _free, _name = "df_tensor_free", "Tensor"

    def __init__(self, handle, keepalive=None):
        super().__init__(handle)
        if keepalive is not None:
            self._keep(keepalive)  # memory the tensor borrows, alive as long as the C tensor

    @classmethod
    def zeros(cls, shape, dtype=DType.FLOAT32, device="cpu"):
        handle = ctypes.c_void_p()
        shape = [count_arg(s, "Tensor.zeros: shape") for s in shape]
        lib.df_tensor_new(len(shape), _shape_array(shape), choice(_DTYPES, dtype, "Tensor.zeros: dtype"),
                          text_arg(device, "Tensor.zeros: device"), ctypes.byref(handle))
        return cls(handle)

    @classmethod
    def from_numpy(cls, array, borrow=False):
        """A float32 host tensor: a copy of array, or with borrow=True a view of it (no copy; the
        tensor keeps the array alive). Non-float32 or non-contiguous arrays are always copied."""
        np = _numpy()
        if array is None or not (hasattr(array, "__array_interface__") or isinstance(array, (list, tuple))):
            raise TypeError(f"dinofeat.Tensor.from_numpy: array must be a numpy array, not {type(array).__name__}")
        kind = np.asarray(array).dtype.kind
        if kind not in "biuf":
            raise TypeError(f"dinofeat.Tensor.from_numpy: array must hold real numbers, not {np.asarray(array).dtype}")
        source = np.ascontiguousarray(array, dtype=np.float32)
        borrow = borrow and source is array
        handle = ctypes.c_void_p()
        function = lib.df_tensor_borrow_host if borrow else lib.df_tensor_from_host
        function(source.ctypes.data_as(ctypes.c_void_p), source.ndim, _shape_array(source.shape), ctypes.byref(handle))
        return cls(handle, source if borrow else None)


    @property
    def shape(self):
        ndim = lib.df_tensor_ndim(self.handle)
        shape = (ctypes.c_int64 * max(ndim, 1))()
        lib.df_tensor_shape(self.handle, shape, ndim)
        return tuple(shape[:ndim])

    @property
    def dtype(self):
        return DType(lib.df_tensor_dtype(self.handle))

    @property
    def device(self):
        return lib.df_tensor_device(self.handle).decode()

    def to(self, device=None, dtype=None):
        """A contiguous copy on device (default: the same) with dtype (default: the same)."""
        handle = ctypes.c_void_p()
        lib.df_tensor_to(self.handle, None if device is None else text_arg(device, "Tensor.to: device"),
                         choice(_DTYPES, self.dtype if dtype is None else dtype, "Tensor.to: dtype"),
                         ctypes.byref(handle))
        return Tensor(handle)

    def numpy(self, copy=False):
        """A numpy array. Host tensors of a numpy dtype come back as a read-only view without a
        copy (the view keeps the memory alive, also after close()), or with copy=True as a writable
        copy in their own dtype; others (bfloat16, device tensors) are copied as float32."""
        np = _numpy()
        view = TensorView(struct_size=ctypes.sizeof(TensorView))
        lib.df_tensor_view_of(self.handle, ctypes.byref(view))
        dtype = DType(view.dtype)
        if view.device_type == 1 and dtype in _NUMPY_TYPES:
            item = np.dtype(_NUMPY_TYPES[dtype]).itemsize
            shape = view.shape[:view.ndim]
            strides = [s * item for s in view.strides[:view.ndim]]
            if int(np.prod(shape)) == 0:
                return np.zeros(shape, dtype=_NUMPY_TYPES[dtype])
            array = np.asarray(_Exported(self._owner_of_memory(), view.data, shape, _NUMPY_TYPES[dtype], strides, True))
            return array.copy() if copy else array
        out = np.empty(self.shape, dtype=np.float32)
        lib.df_tensor_copy_to_host(self.handle, out.ctypes.data_as(ctypes.c_void_p), out.size)
        return out





    def __repr__(self):
        return f"dinofeat.Tensor(shape={self.shape}, dtype={self.dtype.name.lower()}, device={self.device!r})"


__all__ = ["DType", "Tensor", "device_available"]
