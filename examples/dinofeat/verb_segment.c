/* dinofeat segment: the HR-Dv2 unsupervised class-agnostic segmentation of one image. */
#include "cli.h"
#include "draw.h"
#include "model_args.h"
#include "dinofeat/segment.h"
#include "dinofeat/upsample.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usages[] = {"--model FILE --image FILE [options]", NULL};

static const char description[] =
    "Unsupervised class-agnostic segmentation (HR-Dv2, section 3.2 of the paper): upsampled\n"
    "features and attention, k-means into K clusters, attention density per cluster to split\n"
    "foreground from background, complete-linkage merging of the centroids below a cutoff\n"
    "learned from the foreground-background distances, a dense CRF, then per-class densities,\n"
    "boxes around large foreground components, the superbox and the saliency mask.\n"
    "The image is zero-padded for the model so every pixel gets a class (--crop centre-crops to\n"
    "whole patches as the official code does). Progress goes to stderr.\n";

typedef struct request {
    const char *image, *out, *overlay, *boxes, *saliency;
    long width, height;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRING("image", "FILE", image, "a PNG or JPEG", 0, CLI_ROW_REQUIRED),
    ROW_SIZE("size", width, height, "resize to W x H pixels first"),
    ROW_PARAM("clusters", "K", DF_PARAM_KMEANS_K, "k-means clusters"),
    ROW_PARAM("lambda", "L", DF_PARAM_CAS_CUTOFF_SCALE, "the merge cutoff's scale (the paper uses 1.1 for DINO v1)"),
    ROW_PARAM_FIXED("no-crf", DF_PARAM_CAS_CRF, "0", "keep the merged k-means map, without the dense CRF"),
    ROW_PARAM("seed", "N", DF_PARAM_KMEANS_SEED, "k-means seed"),
    ROW_PARAM("min-area", "N", DF_PARAM_CAS_MIN_AREA, "boxes around components of more than N pixels"),
    UPSAMPLE_VIEW_ROWS,
    ROW_PARAM_FIXED("crop", DF_PARAM_UPS_PAD, "0", "centre-crop to whole patches instead of padding"),
    ROW_STRING("out", "FILE", out, "the class of each pixel, a grey PNG (8-bit, 16-bit past 255 classes)"),
    ROW_STRING("overlay", "FILE", overlay, "the image with classes in colour, boxes and the superbox (red), .png"),
    ROW_STRING("boxes", "FILE", boxes, "classes, densities, boxes and superbox as JSON"),
    ROW_STRING("saliency", "FILE", saliency, "the foreground mask, 0/255 PNG"),
    MODEL_ROWS_BUT_STRIDE(model),
};

static void init(void *r) { model_args_init(&((request *)r)->model); }
/* HR-Dv2's segmentation as the paper runs it, and every pixel classified. */
static df_status defaults(df_options *options, unsigned where) {
    (void)where;
    df_status status = df_options_set_int(options, DF_PARAM_KMEANS_K, 80);
    if (status == DF_OK) status = df_options_set_int(options, DF_PARAM_UPS_PAD, 1);
    return status;
}

static const cli_command segment_command = {
    .verb = "segment", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0], .epilogue = "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request), .init = init, .defaults = defaults};

static void write_box(FILE *f, const int32_t *b) { fprintf(f, "[%d, %d, %d, %d]", b[0], b[1], b[2], b[3]); }

static int write_json(const char *path, const request *r, const df_cas_view *v) {
    cli_output out;
    FILE *f = cli_output_open(path, &out);
    if (f == NULL) return -1;
    fprintf(f, "{\n  \"image\": \"%s\",\n  \"width\": %lld,\n  \"height\": %lld,\n", r->image, (long long)v->width,
            (long long)v->height);
    fprintf(f, "  \"clusters\": %zu,\n  \"cutoff\": %.9g,\n  \"classes\": %zu,\n  \"foreground_classes\": [",
            v->cluster_count, v->cutoff, v->class_count);
    for (size_t c = 0, first = 1; c < v->class_count; c++)
        if (v->class_foreground[c]) fprintf(f, "%s%zu", first ? "" : ", ", c), first = 0;
    fprintf(f, "],\n  \"class_density\": [");
    for (size_t c = 0; c < v->class_count; c++)
        isnan(v->class_density[c]) ? fprintf(f, "%snull", c ? ", " : "") : fprintf(f, "%s%.9g", c ? ", " : "", v->class_density[c]);
    fprintf(f, "],\n  \"boxes\": [");
    for (size_t b = 0; b < v->box_count; b++) {
        fprintf(f, "%s\n    {\"class\": %d, \"box\": ", b ? "," : "", v->box_class[b]);
        write_box(f, v->boxes + 4 * b);
        fprintf(f, "}");
    }
    fprintf(f, "%s],\n  \"superbox\": ", v->box_count ? "\n  " : "");
    if (v->has_superbox) {
        fprintf(f, "{\"box\": ");
        write_box(f, v->superbox);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, "\n}\n");
    return cli_output_commit(&out);
}

/* The offset of the library's centred crop: torchvision's CenterCrop, round(excess / 2) with
 * halves to even. */
static size_t centre_offset(size_t excess) { return excess / 2 + (excess % 2 && (excess / 2) % 2); }

/* The pixels the result covers: the whole image when padded, the centred crop otherwise. */
static uint8_t *covered_pixels(const df_image *rgb, const df_cas_view *v) {
    size_t w = df_image_width(rgb), h = df_image_height(rgb), top = centre_offset(h - (size_t)v->height),
           left = centre_offset(w - (size_t)v->width);
    uint8_t *out = malloc((size_t)(v->width * v->height) * 3);
    const uint8_t *source = df_image_pixels((df_image *)rgb);
    for (int64_t y = 0; out && y < v->height; y++)
        memcpy(out + (size_t)(y * v->width) * 3, source + ((top + (size_t)y) * w + left) * 3, (size_t)v->width * 3);
    return out;
}

static int write_outputs(const request *r, const df_image *rgb, const df_cas_result *result) {
    df_cas_view v = {.struct_size = sizeof v};
    df_cas_result_view(result, &v);
    size_t foreground = 0;
    for (size_t c = 0; c < v.class_count; c++) foreground += v.class_foreground[c];
    printf("segmented: %lld x %lld pixels, %zu clusters -> %zu classes (cutoff %.4g), %zu foreground, %zu boxes%s\n",
           (long long)v.width, (long long)v.height, v.cluster_count, v.class_count, v.cutoff, foreground, v.box_count,
           v.has_superbox ? " + superbox" : "");
    uint8_t *pixels = covered_pixels(rgb, &v);
    if (pixels == NULL) return cli_fail("segment", DF_E_OUT_OF_MEMORY);
    df_status status = DF_OK;
    if (r->out) status = cli_write_label_png(v.classes, (size_t)v.width, (size_t)v.height, r->out);
    if (status == DF_OK && r->overlay)
        status = cli_write_overlay_png(pixels, (size_t)v.width, (size_t)v.height, v.classes, NULL, v.boxes, v.box_class,
                                       v.box_count, v.has_superbox ? v.superbox : NULL, r->overlay);
    if (status == DF_OK && r->saliency) {
        df_image *mask = NULL;
        status = df_image_from_pixels(v.saliency, (size_t)v.width, (size_t)v.height, 1, 8, (size_t)v.width, &mask);
        if (status == DF_OK) status = df_image_save_png(mask, r->saliency);
        df_image_free(mask);
    }
    free(pixels);
    if (status != DF_OK) return cli_fail("segment", status);
    if (r->boxes && write_json(r->boxes, r, &v) != 0) {
        fprintf(stderr, "dinofeat segment: %s: %s\n", r->boxes, strerror(errno));
        return EXIT_INPUT;
    }
    const char *written[] = {r->out, r->overlay, r->boxes, r->saliency};
    for (int i = 0; i < 4; i++)
        if (written[i]) printf("wrote %s\n", written[i]);
    return EXIT_OK;
}

static int run(int argc, char **argv) {
    request r;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("segment", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&segment_command, -1, argc, argv, &r, o);
    image_job job;
    if (code == EXIT_OK) code = image_job_open("segment", r.image, r.width, r.height, &r.model, &job);
    if (code == EXIT_OK) {
        df_cas_result *result = NULL;
        cli_progress progress;
        cli_progress_init(&progress, "segment");
        df_status status = df_cas_segment(job.model, job.pixels, o, cli_progress_report, &progress, &result);
        code = status == DF_OK ? write_outputs(&r, job.rgb, result) : cli_fail("segment", status);
        df_cas_result_free(result);
        image_job_free(&job);
    }
    df_options_free(o);
    return code;
}

const cli_verb verb_segment = {"segment", "HR-Dv2 unsupervised class-agnostic segmentation: classes, boxes, saliency",
                               run, &segment_command};
