/* libFuzzer target: the MATLAB level-5 reader (Potsdam's .mat files) must refuse any malformed
 * input cleanly. It reads files, so each input is written to a temporary file first. */
#include "dataset/dataset_internal.h"
#include "fuzz_input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    df_image *image = NULL;
    dfi_mat_load(fuzz_input_file(data, size), &image);
    df_image_free(image);
    return 0;
}
