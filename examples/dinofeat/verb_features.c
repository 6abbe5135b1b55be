/* dinofeat features: patch features of one image as .npy, with PCA and attention pictures. */
#include "cli.h"
#include "model_args.h"
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usages[] = {"--model FILE --image FILE [options]", NULL};

static const char description[] =
    "Runs the backbone on one image and writes its final-norm patch features as a float32\n"
    ".npy array of shape (grid height, grid width, dim), readable with numpy.load; a picture\n"
    "of their first three principal components as RGB; and the last block's [CLS] attention\n"
    "over the patches, averaged over heads. Pictures have the processed image's size.\n"
    "The image is converted to RGB, resized if --size is given (bicubic, as PIL), normalised\n"
    "with ImageNet statistics. Sizes the patch grid does not cover are centre-cropped.\n";

typedef struct request {
    const char *image, *out, *pca, *attn;
    long width, height;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRING("image", "FILE", image, "a PNG or JPEG", 0, CLI_ROW_REQUIRED),
    ROW_SIZE("size", width, height, "resize to W x H pixels first (default: keep the image's size)"),
    ROW_STRING("out", "FILE", out, "the features, .npy"),
    ROW_STRING("pca", "FILE", pca, "the 3-component PCA picture, .png"),
    ROW_STRING("attn-png", "FILE", attn, "the [CLS] attention picture, .png"),
    MODEL_ROWS(model),
};

static void init(void *r) { model_args_init(&((request *)r)->model); }

static const cli_command features_command = {
    .verb = "features", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0],
    .epilogue = "Prints the grid and the files written. Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request), .init = init};

static int write_outputs(const request *r, const df_forward *forward, size_t width, size_t height) {
    const df_tensor *patch, *attention;
    df_forward_output(forward, DF_OUTPUT_PATCH, &patch);
    df_forward_output(forward, DF_OUTPUT_CLS_ATTENTION, &attention);
    int64_t shape[4], attention_shape[4];
    df_tensor_shape(patch, shape, 4);
    df_tensor_shape(attention, attention_shape, 4);
    float *features = cli_host_copy(patch), *attn = cli_host_copy(attention);
    int code = features && attn ? EXIT_OK : cli_fail("features", DF_E_OUT_OF_MEMORY);
    printf("grid: %lld x %lld patches, dim %lld\n", (long long)shape[1], (long long)shape[2], (long long)shape[3]);
    if (code == EXIT_OK && r->out) {
        if (cli_write_npy(r->out, features, 3, shape + 1) != 0) {
            fprintf(stderr, "dinofeat features: %s: %s\n", r->out, strerror(errno));
            code = EXIT_INPUT;
        } else {
            printf("wrote %s\n", r->out);
        }
    }
    if (code == EXIT_OK && r->pca) {
        df_image *picture = NULL;
        df_status status = cli_pca_image(features, (size_t)shape[2], (size_t)shape[1], (size_t)shape[3], width, height, &picture);
        if (status == DF_OK) status = df_image_save_png(picture, r->pca);
        df_image_free(picture);
        code = status == DF_OK ? (printf("wrote %s\n", r->pca), EXIT_OK) : cli_fail("features", status);
    }
    if (code == EXIT_OK && r->attn) {
        size_t heads = (size_t)attention_shape[1], cells = (size_t)(attention_shape[2] * attention_shape[3]);
        for (size_t i = 0; i < cells; i++) {
            float sum = 0;
            for (size_t h = 0; h < heads; h++) sum += attn[h * cells + i];
            attn[i] = sum / (float)heads;
        }
        df_image *picture = NULL;
        df_status status = cli_heat_image(attn, (size_t)attention_shape[3], (size_t)attention_shape[2], width, height, &picture);
        if (status == DF_OK) status = df_image_save_png(picture, r->attn);
        df_image_free(picture);
        code = status == DF_OK ? (printf("wrote %s\n", r->attn), EXIT_OK) : cli_fail("features", status);
    }
    free(features);
    free(attn);
    return code;
}

static int run(int argc, char **argv) {
    request r;
    int code = cli_rows_parse(&features_command, -1, argc, argv, &r, NULL);
    image_job job;
    if (code == EXIT_OK) code = image_job_open("features", r.image, r.width, r.height, &r.model, &job);
    if (code != EXIT_OK) return code;
    df_forward *forward = NULL;
    df_status status = df_model_forward(job.model, job.pixels, DF_OUTPUT_PATCH | DF_OUTPUT_CLS_ATTENTION, &forward);
    code = status == DF_OK ? write_outputs(&r, forward, df_image_width(job.rgb), df_image_height(job.rgb))
                           : cli_fail("features", status);
    df_forward_free(forward);
    image_job_free(&job);
    return code;
}

const cli_verb verb_features = {"features", "patch features of an image: .npy, PCA and attention PNGs", run,
                                 &features_command};
