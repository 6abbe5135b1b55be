/* Element types: names and sizes. Kept apart from tensor.c so the checkpoint readers and their
 * fuzzers link without libtorch. */
#include "internal.h"
#include "dinofeat/tensor.h"

const char *df_dtype_name(df_dtype dtype) {
    switch (dtype) {
    case DF_DTYPE_FLOAT32: return "float32";
    case DF_DTYPE_FLOAT16: return "float16";
    case DF_DTYPE_BFLOAT16: return "bfloat16";
    case DF_DTYPE_FLOAT64: return "float64";
    case DF_DTYPE_UINT8: return "uint8";
    case DF_DTYPE_INT32: return "int32";
    case DF_DTYPE_INT64: return "int64";
    }
    return NULL;
}

size_t df_dtype_size(df_dtype dtype) {
    switch (dtype) {
    case DF_DTYPE_UINT8: return 1;
    case DF_DTYPE_FLOAT16:
    case DF_DTYPE_BFLOAT16: return 2;
    case DF_DTYPE_FLOAT32:
    case DF_DTYPE_INT32: return 4;
    case DF_DTYPE_FLOAT64:
    case DF_DTYPE_INT64: return 8;
    }
    return 0;
}
