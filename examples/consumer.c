/* A C program using the installed library through pkg-config:
 *   cc consumer.c $(pkg-config --cflags --libs dinofeat) -o consumer && ./consumer image.png
 * It decodes an image, resizes it the way DINO preprocessing does, and prints the tensor's
 * shape and per-channel means. */
#include <dinofeat/dinofeat.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) {
    fprintf(stderr, "consumer: %s: %s\n", what, df_last_error_message());
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
        return 1;
    }
    printf("dinofeat %s (header %s)\n", df_version_string(), DF_VERSION_STRING);
    df_image *image = NULL, *resized = NULL;
    df_tensor *tensor = NULL;
    if (df_image_load(argv[1], NULL, &image) != DF_OK) return fail("load");
    printf("%s: %zu x %zu, %zu channels, %zu-bit\n", argv[1], df_image_width(image),
           df_image_height(image), df_image_channels(image), df_image_bit_depth(image));
    if (df_image_resize(image, 224, 224, DF_RESIZE_BICUBIC, &resized) != DF_OK) return fail("resize");
    if (df_image_to_tensor(resized, NULL, NULL, &tensor) != DF_OK) return fail("to_tensor");
    int64_t shape[4];
    df_tensor_shape(tensor, shape, 4);
    size_t count = (size_t)df_tensor_numel(tensor);
    float *values = malloc(count * sizeof *values);
    if (values == NULL || df_tensor_copy_to_host(tensor, values, count) != DF_OK) return fail("copy");
    printf("tensor %lld x %lld x %lld x %lld, channel means:", (long long)shape[0],
           (long long)shape[1], (long long)shape[2], (long long)shape[3]);
    size_t plane = count / 3;
    for (size_t c = 0; c < 3; c++) {
        double sum = 0;
        for (size_t i = 0; i < plane; i++) sum += values[c * plane + i];
        printf(" %.4f", sum / (double)plane);
    }
    printf("\n");
    free(values);
    df_tensor_free(tensor);
    df_image_free(resized);
    df_image_free(image);
    return 0;
}
