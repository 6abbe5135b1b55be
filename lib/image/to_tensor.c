/* df_image_to_tensor: torchvision's ToTensor + Normalize, in the same float32 arithmetic. */
#include "image_internal.h"
#include "../tensor_internal.h"

#include <stdlib.h>

df_status df_image_to_tensor(const df_image *image, const float *mean, const float *std,
                             df_tensor **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(image);
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
    static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    if (mean == NULL) mean = imagenet_mean;
    if (std == NULL) std = imagenet_std;
    for (int c = 0; c < 3; c++)
        if (!(std[c] != 0.0f))
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "std[%d] is zero or NaN", c));
    size_t plane = image->width * image->height;
    float *data = malloc(3 * plane * sizeof *data);
    if (data == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate the tensor"));
    const float max_value = image->bit_depth == 16 ? 65535.0f : 255.0f;
    size_t channels = image->channels;
#pragma omp parallel for schedule(static) if (plane > 65536)
    for (size_t p = 0; p < plane; p++) {
        for (size_t c = 0; c < 3; c++) {
            size_t index = p * channels + (channels >= 3 ? c : 0);
            float value = image->bit_depth == 16 ? ((const uint16_t *)image->pixels)[index]
                                                 : image->pixels[index];
            data[c * plane + p] = (value / max_value - mean[c]) / std[c];
        }
    }
    const int64_t shape[4] = {1, 3, (int64_t)image->height, (int64_t)image->width};
    df_status status = dfi_tensor_wrap_host(data, 1, 4, shape, DF_DTYPE_FLOAT32, out);
    if (status != DF_OK) free(data);
    DFI_RETURN(status);
}
