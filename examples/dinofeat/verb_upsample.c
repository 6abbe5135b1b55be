/* dinofeat upsample: HR-Dv2 pixel-resolution features and attention of one image. */
#include "cli.h"
#include "model_args.h"
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "Usage: dinofeat upsample --model FILE --image FILE [--stride 4] [--shifts 1,2]\n"
    "                         [--neighbourhood moore|neumann] [--flips[=on|off|official]]\n"
    "                         [--attn cls|o|q|k|v|none] [--out feats.npy] [--pca pca.png]\n"
    "                         [--attn-png attn.png] [--compare figure.png]\n"
    "\n"
    "HR-Dv2 upsampling: runs the backbone on shifted and flipped copies of the image at a\n"
    "reduced patch stride, maps each view back to pixel resolution through its exact inverse\n"
    "and averages them, giving features (and attention) at the image's resolution. The image\n"
    "is converted to RGB, resized if --size is given, ImageNet-normalised and centre-cropped\n"
    "to multiples of the patch size (--pad pads instead). Memory beyond one forward pass does\n"
    "not grow with the number of views. Progress goes to stderr.\n"
    "\n"
    "Options:\n"
    "  --image FILE           a PNG or JPEG (required)\n"
    "  --size WxH             resize to W x H pixels first\n"
    "  --stride S             patch stride of the views in pixels (default 4)\n"
    "  --shifts D,D,...       shift distances in pixels (default 1,2; '' for none)\n"
    "  --neighbourhood N      moore (8 directions, default) or neumann (4)\n"
    "  --flips[=MODE]         on (default: identity, horizontal, vertical), off, official\n"
    "  --no-flips             the same as --flips=off\n"
    "  --attn KIND            attention channels: cls (default: [CLS] attention), o (HR-Dv2's\n"
    "                         segmentation uses it), q, k, v, none\n"
    "  --border B             wrap (default), zero, replicate\n"
    "  --bilinear             bilinear instead of nearest-exact resizing of each view\n"
    "  --pad                  zero-pad to multiples of the patch instead of centre-cropping,\n"
    "                         so the outputs cover every pixel of the image\n"
    "  --batch N              views per forward pass (default 1; same results)\n"
    "  --out FILE             the features, (H, W, D) float32 .npy\n"
    "  --attn-out FILE        the attention, (H, W, heads) float32 .npy\n"
    "  --pca FILE             a 3-component PCA picture of the features, .png\n"
    "  --attn-png FILE        the attention summed over heads, .png\n"
    "  --compare FILE         one figure: low-resolution PCA, upsampled PCA, attention\n" MODEL_ARGS_HELP
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n";

typedef struct request {
    const char *image, *out, *attn_out, *pca, *attn_png, *compare;
    long width, height;
} request;

static int set_named(df_options *options, df_param key, const char *value, const char *const *names, int count,
                     const char *flag) {
    for (int i = 0; i < count; i++)
        if (strcmp(value, names[i]) == 0) return df_options_set_int(options, key, i) == DF_OK ? 0 : -1;
    cli_usage_error("upsample", "%s does not take '%s'", flag, value);
    return -1;
}

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
    static const struct option options[] = {
        {"image", required_argument, NULL, 'i'},       {"size", required_argument, NULL, 'z'},
        {"shifts", required_argument, NULL, 's'},      {"neighbourhood", required_argument, NULL, 'n'},
        {"flips", optional_argument, NULL, 'f'},       {"no-flips", no_argument, NULL, 'F'},
        {"attn", required_argument, NULL, 'a'},        {"border", required_argument, NULL, 'b'},
        {"bilinear", no_argument, NULL, 'l'},          {"batch", required_argument, NULL, 'B'},
        {"out", required_argument, NULL, 'o'},         {"attn-out", required_argument, NULL, 'O'},
        {"pca", required_argument, NULL, 'p'},         {"attn-png", required_argument, NULL, 'P'},
        {"compare", required_argument, NULL, 'c'},     {"pad", no_argument, NULL, 'd'},
        MODEL_ARGS_OPTIONS,
        {NULL, 0, NULL, 0}};
    static const char *const neighbourhoods[] = {"moore", "neumann"}, *const flips[] = {"off", "on", "official"};
    static const char *const attentions[] = {"cls", "o", "q", "k", "v", "none"};
    static const char *const borders[] = {"wrap", "zero", "replicate"};
    request r = {0};
    model_args margs;
    model_args_init(&margs);
    df_options *ups = NULL;
    if (cli_options_new(&ups) != DF_OK) return cli_fail("upsample", DF_E_OUT_OF_MEMORY);
    int code = EXIT_OK;
    optind = 1;
    opterr = 0;
    for (int option; code == EXIT_OK && (option = getopt_long(argc, argv, ":", options, NULL)) != -1;) {
        int handled = option == 1005 ? 0 : model_args_parse(&margs, option, optarg, "upsample");
        if (handled < 0) code = EXIT_USAGE;
        if (handled) continue;
        char *end;
        switch (option) {
        case 'i': r.image = optarg; break;
        case 'o': r.out = optarg; break;
        case 'O': r.attn_out = optarg; break;
        case 'p': r.pca = optarg; break;
        case 'P': r.attn_png = optarg; break;
        case 'c': r.compare = optarg; break;
        case 'z':
            if (cli_parse_size(optarg, &r.width, &r.height) != 0)
                code = cli_usage_error("upsample", "--size takes WxH, e.g. 448x448, not '%s'", optarg);
            break;
        case 1005: /* --stride: the views' stride here, not the model's */
            if (df_options_set_int(ups, DF_PARAM_UPS_STRIDE, strtol(optarg, &end, 10)) != DF_OK || *end)
                code = cli_usage_error("upsample", "--stride takes a number of pixels >= 1, not '%s'", optarg);
            break;
        case 's':
            if (df_options_set_str(ups, DF_PARAM_UPS_SHIFTS, optarg) != DF_OK) code = cli_fail("upsample", DF_E_INVALID_ARG);
            break;
        case 'n': if (set_named(ups, DF_PARAM_UPS_NEIGHBOURHOOD, optarg, neighbourhoods, 2, "--neighbourhood")) code = EXIT_USAGE; break;
        case 'f': if (set_named(ups, DF_PARAM_UPS_FLIPS, optarg ? optarg : "on", flips, 3, "--flips")) code = EXIT_USAGE; break;
        case 'F': df_options_set_int(ups, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF); break;
        case 'a': if (set_named(ups, DF_PARAM_UPS_ATTENTION, optarg, attentions, 6, "--attn")) code = EXIT_USAGE; break;
        case 'b': if (set_named(ups, DF_PARAM_UPS_BORDER, optarg, borders, 3, "--border")) code = EXIT_USAGE; break;
        case 'l': df_options_set_int(ups, DF_PARAM_UPS_INTERP, DF_UPS_BILINEAR); break;
        case 'd': df_options_set_int(ups, DF_PARAM_UPS_PAD, 1); break;
        case 'B':
            if (df_options_set_int(ups, DF_PARAM_UPS_BATCH, strtol(optarg, &end, 10)) != DF_OK || *end)
                code = cli_usage_error("upsample", "--batch takes a number >= 1, not '%s'", optarg);
            break;
        case ':': code = cli_usage_error("upsample", "%s needs a value", argv[optind - 1]); break;
        default: code = cli_usage_error("upsample", "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (code == EXIT_OK && optind < argc) code = cli_usage_error("upsample", "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && r.image == NULL) code = cli_usage_error("upsample", "--image FILE is required");
    size_t views = 0;
    if (code == EXIT_OK && df_upsample_view_count(ups, &views) != DF_OK) code = cli_fail("upsample", DF_E_INVALID_ARG);
    df_model *model = NULL;
    if (code == EXIT_OK) code = model_args_open(&margs, "upsample", &model);
    df_tensor *pixels = NULL, *features = NULL, *attention = NULL;
    if (code == EXIT_OK) {
        int64_t kind = 0;
        df_options_get_int(ups, DF_PARAM_UPS_ATTENTION, &kind);
        cli_progress progress;
        cli_progress_init(&progress, "upsample");
        df_status status = cli_prepare_image(r.image, (size_t)r.width, (size_t)r.height, &pixels, NULL, NULL);
        if (status == DF_OK)
            status = df_upsample(model, pixels, ups, cli_progress_report, &progress, &features,
                                 kind == DF_UPS_ATTN_NONE ? NULL : &attention);
        code = status == DF_OK ? write_outputs(&r, model, pixels, features, attention) : cli_fail("upsample", status);
    }
    df_tensor_free(features);
    df_tensor_free(attention);
    df_tensor_free(pixels);
    df_model_free(model);
    df_options_free(ups);
    return code;
}

const cli_verb verb_upsample = {"upsample", "HR-Dv2 pixel-resolution features and attention of an image", help, run};
