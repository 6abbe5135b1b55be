/* df_inference_precision: the precision to run inference in when the user leaves it to us. */
#include "dinofeat/model.h"
#include "../internal.h"
#include "../kernels/attention.h"
#include "../tensor_internal.h"

#include <stddef.h>

df_status df_inference_precision(const char *device, df_dtype *out, const char **reason) {
    DFI_CHECK_NOT_NULL(out);
    df_device_type type = DF_DEVICE_CPU;
    int32_t id = 0;
    df_status status = dfi_parse_device(device, &type, &id);
    if (status != DF_OK) DFI_RETURN(status);
    const char *why;
    if (type == DF_DEVICE_CUDA) {
        /* the README's bfloat16 accuracy and speed figures are CPU measurements */
        *out = DF_DTYPE_FLOAT32;
        why = "float32 on CUDA (bfloat16 is measured on CPUs only: ask for it by name)";
    } else if (dfi_attention_bf16_supported()) {
        *out = DF_DTYPE_BFLOAT16;
        why = "bfloat16: this CPU has AVX512-BF16 dot products (patch tokens within cosine 0.9999 of float32)";
    } else {
        *out = DF_DTYPE_FLOAT32;
        why = "float32: this CPU lacks AVX512-BF16, where bfloat16 is no faster than float32 (its matrix products "
              "run in float32) and only less precise";
    }
    if (reason) *reason = why;
    return DF_OK;
}
