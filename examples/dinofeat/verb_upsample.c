/* dinofeat upsample: HR-Dv2 pixel-resolution features and attention of one image. */
#include "cli.h"
#include "model_args.h"
#include "output.h"
#include "dinofeat/upsample.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usages[] = {"--model FILE --image FILE [options]", NULL};

static const char description[] =
    "HR-Dv2 upsampling: runs the backbone on shifted and flipped copies of the image at a\n"
    "reduced patch stride, maps each view back to pixel resolution through its exact inverse\n"
    "and averages them, giving features (and attention) at the image's resolution. The image\n"
    "is converted to RGB, resized if --size is given, ImageNet-normalised and centre-cropped\n"
    "to multiples of the patch size (--pad pads instead). Memory beyond one forward pass does\n"
    "not grow with the number of views. Progress goes to stderr.\n";

typedef struct request {
    const char *image, *out, *attn_out, *pca, *attn_png, *compare;
    long width, height;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRING("image", "FILE", image, "a PNG or JPEG", 0, CLI_ROW_REQUIRED),
    ROW_SIZE("size", width, height, "resize to W x H pixels first"),
    UPSAMPLE_VIEW_ROWS,
    ROW_PARAM("neighbourhood", "N", DF_PARAM_UPS_NEIGHBOURHOOD, "moore (8 directions) or von_neumann (4)"),
    ROW_PARAM_OPTIONAL("flips", "MODE", DF_PARAM_UPS_FLIPS, "on", "on (identity, horizontal, vertical), off, official"),
    ROW_PARAM("attn", "KIND", DF_PARAM_UPS_ATTENTION,
              "attention channels: cls ([CLS] attention), o (HR-Dv2's segmentation\n"
              "uses it), q, k, v, none"),
    ROW_PARAM("border", "B", DF_PARAM_UPS_BORDER, "wrap, zero, replicate"),
    ROW_PARAM_FIXED("bilinear", DF_PARAM_UPS_INTERP, "bilinear", "bilinear instead of nearest-exact resizing of each view"),
    ROW_PARAM_FIXED("pad", DF_PARAM_UPS_PAD, "1",
                    "zero-pad to multiples of the patch instead of centre-cropping,\n"
                    "so the outputs cover every pixel of the image"),
    ROW_PARAM("batch", "N", DF_PARAM_UPS_BATCH, "views per forward pass (same results)"),
    ROW_STRING("out", "FILE", out, "the features, (H, W, D) float32 .npy"),
    ROW_STRING("attn-out", "FILE", attn_out, "the attention, (H, W, heads) float32 .npy"),
    ROW_STRING("pca", "FILE", pca, "a 3-component PCA picture of the features, .png"),
    ROW_STRING("attn-png", "FILE", attn_png, "the attention summed over heads, .png"),
    ROW_STRING("compare", "FILE", compare, "one figure: low-resolution PCA, upsampled PCA, attention"),
    MODEL_ROWS_BUT_STRIDE(model),
};

static void init(void *r) { model_args_init(&((request *)r)->model); }

static const cli_command upsample_command = {
    .verb = "upsample", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0], .epilogue = "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request), .init = init};

/* PCA of the plain forward pass (stride = patch), for --compare. */
static df_status low_resolution_pca(df_model *model, const df_tensor *pixels, size_t width, size_t height, df_image **out) {
    df_forward *forward = NULL;
    df_status status = df_model_set_int(model, DF_PARAM_MODEL_STRIDE, 0);
    if (status == DF_OK) status = df_model_forward(model, pixels, DF_OUTPUT_PATCH, &forward);
    if (status != DF_OK) return status;
    const df_tensor *patch;
    df_forward_output(forward, DF_OUTPUT_PATCH, &patch);
    int64_t shape[4];
    df_tensor_shape(patch, shape, 4);
    float *values = cli_host_copy(patch);
    status = values ? cli_pca_image(values, (size_t)shape[2], (size_t)shape[1], (size_t)shape[3], width, height, out)
                    : DF_E_OUT_OF_MEMORY;
    free(values);
    df_forward_free(forward);
    return status;
}

static df_status side_by_side(df_image *const *parts, int count, const char *path) {
    size_t width = df_image_width(parts[0]), height = df_image_height(parts[0]), gap = 8;
    df_image *figure = NULL;
    df_status status = df_image_new(count * width + (count - 1) * gap, height, 3, 8, &figure);
    if (status != DF_OK) return status;
    unsigned char *target = df_image_pixels(figure);
    memset(target, 255, df_image_width(figure) * height * 3);
    for (int p = 0; p < count; p++) {
        const unsigned char *source = df_image_pixels(parts[p]);
        for (size_t y = 0; y < height; y++)
            memcpy(target + (y * df_image_width(figure) + p * (width + gap)) * 3, source + y * width * 3, width * 3);
    }
    status = df_image_save_png(figure, path);
    df_image_free(figure);
    return status;
}

static int write_outputs(const request *r, df_model *model, const df_tensor *pixels, const df_tensor *features,
                         const df_tensor *attention) {
    int64_t shape[3] = {0}, attention_shape[3] = {0};
    df_tensor_shape(features, shape, 3);
    if (attention) df_tensor_shape(attention, attention_shape, 3);
    size_t h = (size_t)shape[0], w = (size_t)shape[1], d = (size_t)shape[2];
    printf("upsampled: %zu x %zu pixels, dim %zu\n", h, w, d);
    float *f = cli_host_copy(features), *a = attention ? cli_host_copy(attention) : NULL;
    if (f == NULL || (attention && a == NULL)) return cli_fail("upsample", DF_E_OUT_OF_MEMORY);
    int code = EXIT_OK;
    df_image *pictures[3] = {NULL, NULL, NULL};
    df_status status = DF_OK;
    if (r->out && cli_write_npy(r->out, f, 3, shape) != 0) {
        fprintf(stderr, "dinofeat upsample: %s: %s\n", r->out, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK && r->attn_out && a && cli_write_npy(r->attn_out, a, 3, attention_shape) != 0) {
        fprintf(stderr, "dinofeat upsample: %s: %s\n", r->attn_out, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK && (r->pca || r->compare)) status = cli_pca_image(f, w, h, d, w, h, &pictures[1]);
    if (status == DF_OK && a && (r->attn_png || r->compare)) {
        size_t heads = (size_t)attention_shape[2];
        for (size_t i = 0; i < h * w; i++) {
            float sum = 0;
            for (size_t k = 0; k < heads; k++) sum += a[i * heads + k];
            a[i] = sum;
        }
        status = cli_heat_image(a, w, h, w, h, &pictures[2]);
    }
    if (status == DF_OK && r->compare) status = low_resolution_pca(model, pixels, w, h, &pictures[0]);
    if (status == DF_OK && r->pca) status = df_image_save_png(pictures[1], r->pca);
    if (status == DF_OK && r->attn_png && pictures[2]) status = df_image_save_png(pictures[2], r->attn_png);
    if (status == DF_OK && r->compare) status = side_by_side(pictures, pictures[2] ? 3 : 2, r->compare);
    if (status != DF_OK) code = cli_fail("upsample", status);
    const char *written[] = {r->out, r->attn_out, r->pca, r->attn_png, r->compare};
    for (int i = 0; code == EXIT_OK && i < 5; i++)
        if (written[i] && (i != 1 || a) && (i != 3 || pictures[2])) printf("wrote %s\n", written[i]);
    for (int i = 0; i < 3; i++) df_image_free(pictures[i]);
    free(f);
    free(a);
    return code;
}

static int run(int argc, char **argv) {
    request r;
    df_options *ups = NULL;
    if (cli_options_new(&ups) != DF_OK) return cli_fail("upsample", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&upsample_command, -1, argc, argv, &r, ups);
    size_t views = 0;
    if (code == EXIT_OK && df_upsample_view_count(ups, &views) != DF_OK) code = cli_fail("upsample", DF_E_INVALID_ARG);
    image_job job;
    if (code == EXIT_OK) code = image_job_open("upsample", r.image, r.width, r.height, &r.model, &job);
    if (code == EXIT_OK) {
        int64_t kind = 0;
        df_options_get_int(ups, DF_PARAM_UPS_ATTENTION, &kind);
        cli_progress progress;
        cli_progress_init(&progress, "upsample");
        df_tensor *features = NULL, *attention = NULL;
        df_status status = df_upsample(job.model, job.pixels, ups, cli_progress_report, &progress, &features,
                                       kind == DF_UPS_ATTN_NONE ? NULL : &attention);
        code = status == DF_OK ? write_outputs(&r, job.model, job.pixels, features, attention)
                               : cli_fail("upsample", status);
        df_tensor_free(features);
        df_tensor_free(attention);
        image_job_free(&job);
    }
    df_options_free(ups);
    return code;
}

const cli_verb verb_upsample = {"upsample", "HR-Dv2 pixel-resolution features and attention of an image", run,
                                 &upsample_command};
