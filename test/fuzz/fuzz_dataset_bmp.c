/* libFuzzer target: the bitmap reader (SUIM's masks) must refuse any malformed input cleanly and
 * never read past it. It reads files, so each input is written to a temporary file first. */
#include "dataset/dataset_internal.h"
#include "fuzz_input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    df_image *image = NULL;
    dfi_bmp_load(fuzz_input_file(data, size), NULL, &image);
    df_image_free(image);
    return 0;
}
