/* Where and in what precision a trainer computes: the device and precision its settings name,
 * and moving a trainer to another device. */
#include "trainer_internal.h"
#include "../tensor_internal.h"
#include "df_shim.h"

df_status dfi_trainer_device(const char *device, const char *what, df_device_type *type, int32_t *id) {
    df_status status = dfi_parse_device(device, type, id);
    if (status == DF_OK && (status = dfs_device_check(*type, *id)) != DF_OK)
        status = dfi_error(status, "%s %s: %s", what, device, dfs_last_error());
    return status;
}

df_status dfi_trainer_precision(int64_t value, const char *what, df_dtype *out) {
    if (value == DF_DTYPE_FLOAT16)
        return dfi_error(DF_E_UNSUPPORTED, "%s float16: training in float16 needs loss scaling, which is not there "
                                           "yet; bfloat16 keeps float32's range and needs none", what);
    *out = value == DF_DTYPE_BFLOAT16 ? DF_DTYPE_BFLOAT16 : DF_DTYPE_FLOAT32;
    return DF_OK;
}

df_status df_trainer_to(df_trainer *trainer, const char *device) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(device);
    df_device_type type;
    int32_t id;
    df_status status = dfi_trainer_device(device, "device", &type, &id);
    if (status == DF_OK && trainer->ops->to_device == NULL)
        status = dfi_error(DF_E_UNSUPPORTED, "a NeCo trainer computes where its backbone is: open the model on %s "
                                             "and create or load the trainer with it", device);
    if (status == DF_OK) status = trainer->ops->to_device(trainer->self, type, id);
    DFI_RETURN(status);
}
