/* dinofeat tokencut: training-free object discovery (TokenCut) on one image. */
#include "cli.h"
#include "draw.h"
#include "model_args.h"
#include "dinofeat/segment.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usages[] = {"--model FILE --image FILE [options]", NULL};

static const char description[] =
    "TokenCut (Wang et al. 2022): a normalized cut of the graph of the last block's keys. The\n"
    "eigenvector of the second-smallest generalised eigenvalue splits the patches at its mean;\n"
    "the object is the 4-connected part that holds the patch of largest |eigenvector|. The\n"
    "image is zero-padded at the bottom and right to whole patches. Prints the box.\n";

typedef struct request {
    const char *image, *mask, *overlay, *boxes;
    long width, height;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRING("image", "FILE", image, "a PNG or JPEG", 0, CLI_ROW_REQUIRED),
    ROW_SIZE("size", width, height, "resize to W x H pixels first"),
    ROW_PARAM("tau", "T", DF_PARAM_TOKENCUT_TAU, "affinity threshold on key cosine similarity"),
    ROW_PARAM("eps", "E", DF_PARAM_TOKENCUT_EPS, "affinity below the threshold"),
    ROW_PARAM_FIXED("similarity", DF_PARAM_TOKENCUT_BINARY, "0", "keep similarities above tau instead of setting them to 1"),
    ROW_STRING("mask", "FILE", mask, "the object mask, 0/255 PNG of the image's size"),
    ROW_STRING("overlay", "FILE", overlay, "the image with the object tinted and its box, .png"),
    ROW_STRING("boxes", "FILE", boxes, "the box and seed as JSON"),
    MODEL_ROWS(model),
};

static void init(void *r) { model_args_init(&((request *)r)->model); }

static const cli_command tokencut_command = {
    .verb = "tokencut", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0], .epilogue = "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request), .init = init};

static int write_json(const char *path, const char *image, const int32_t *box, const df_tokencut_detail *d) {
    cli_output out;
    FILE *f = cli_output_open(path, &out);
    if (f == NULL) return -1;
    fprintf(f,
            "{\n  \"image\": \"%s\",\n  \"grid\": [%lld, %lld],\n  \"seed\": %lld,\n  \"eigenvalue\": %.9g,\n"
            "  \"boxes\": [\n    {\"class\": 1, \"box\": [%d, %d, %d, %d]}]\n}\n",
            image, (long long)d->grid_height, (long long)d->grid_width, (long long)d->seed, d->eigenvalue, box[0],
            box[1], box[2], box[3]);
    return cli_output_commit(&out);
}

static int write_outputs(const request *r, df_image *rgb, const df_tensor *mask, const int32_t *box,
                         const df_tokencut_detail *detail) {
    printf("object box: [%d, %d, %d, %d] (seed patch %lld of a %lld x %lld grid)\n", box[0], box[1], box[2], box[3],
           (long long)detail->seed, (long long)detail->grid_height, (long long)detail->grid_width);
    df_tensor_view view = {.struct_size = sizeof view};
    df_status status = df_tensor_view_of(mask, &view);
    size_t w = df_image_width(rgb), h = df_image_height(rgb);
    if (status == DF_OK && r->mask) {
        df_image *png = NULL;
        status = df_image_from_pixels(view.data, w, h, 1, 8, w, &png);
        if (status == DF_OK) status = df_image_save_png(png, r->mask);
        df_image_free(png);
    }
    if (status == DF_OK && r->overlay)
        status = cli_write_overlay_png(df_image_pixels(rgb), w, h, NULL, view.data, box, NULL, 1, NULL, r->overlay);
    if (status != DF_OK) return cli_fail("tokencut", status);
    if (r->boxes && write_json(r->boxes, r->image, box, detail) != 0) {
        fprintf(stderr, "dinofeat tokencut: %s: %s\n", r->boxes, strerror(errno));
        return EXIT_INPUT;
    }
    const char *written[] = {r->mask, r->overlay, r->boxes};
    for (int i = 0; i < 3; i++)
        if (written[i]) printf("wrote %s\n", written[i]);
    return EXIT_OK;
}

static int run(int argc, char **argv) {
    request r;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("tokencut", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&tokencut_command, -1, argc, argv, &r, o);
    image_job job;
    if (code == EXIT_OK) code = image_job_open("tokencut", r.image, r.width, r.height, &r.model, &job);
    if (code == EXIT_OK) {
        int32_t box[4];
        df_tensor *mask = NULL;
        df_tokencut_detail detail = {.struct_size = sizeof detail};
        df_status status = df_tokencut(job.model, job.pixels, o, &mask, box, &detail);
        code = status == DF_OK ? write_outputs(&r, job.rgb, mask, box, &detail) : cli_fail("tokencut", status);
        df_tokencut_detail_clear(&detail);
        df_tensor_free(mask);
        image_job_free(&job);
    }
    df_options_free(o);
    return code;
}

const cli_verb verb_tokencut = {"tokencut", "TokenCut object discovery: the object's mask and box", run, &tokencut_command};
