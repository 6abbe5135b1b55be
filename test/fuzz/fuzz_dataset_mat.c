/* libFuzzer target: the MATLAB level-5 reader (Potsdam's .mat files) must refuse any malformed
 * input cleanly. It reads files, so each input is written to one temporary file first. */
#include "dataset/dataset_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/dinofeat_fuzz_mat_XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    df_image *image = NULL;
    dfi_mat_load(path, &image);
    df_image_free(image);
    return 0;
}
