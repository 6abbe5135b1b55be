/* libFuzzer target: the JPEG decoder (with EXIF orientation) must refuse any malformed input
 * cleanly. The input is prefixed with a JPEG start-of-image marker when it lacks one. */
#include "dinofeat/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *input = malloc(size + 3);
    if (input == NULL) return 0;
    size_t prefix = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF ? 0 : 3;
    memcpy(input, "\xFF\xD8\xFF", prefix);
    memcpy(input + prefix, data, size);
    df_options *options = NULL;
    df_options_new(&options);
    df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 1 << 22);
    df_image *image = NULL;
    if (df_image_load_memory(input, size + prefix, options, &image) == DF_OK) {
        df_image *grey = NULL;
        df_image_convert(image, 1, &grey);
        df_image_free(grey);
    }
    df_image_free(image);
    df_options_free(options);
    free(input);
    return 0;
}
