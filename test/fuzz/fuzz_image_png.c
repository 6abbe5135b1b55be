/* libFuzzer target: the PNG decoder must refuse any malformed input cleanly. The input is
 * prefixed with the PNG signature so the fuzzer spends its time past the sniffing. */
#include "dinofeat/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t *input = malloc(size + 8);
    if (input == NULL) return 0;
    size_t skip = size >= 8 && memcmp(data, signature, 8) == 0 ? 8 : 0;
    memcpy(input, signature, 8);
    memcpy(input + 8, data + skip, size - skip);
    df_options *options = NULL;
    df_options_new(&options);
    df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 1 << 22);
    df_image *image = NULL;
    if (df_image_load_memory(input, size + 8 - skip, options, &image) == DF_OK) {
        df_image *small = NULL;
        df_image_resize(image, 7, 5, DF_RESIZE_BICUBIC, &small);
        df_image_free(small);
    }
    df_image_free(image);
    df_options_free(options);
    free(input);
    return 0;
}
