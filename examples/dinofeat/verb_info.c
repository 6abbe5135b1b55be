/* dinofeat info: what the library was built with, and what images hold. */
#include "cli.h"
#include "folder.h"
#include "model_args.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usages[] = {"[--model FILE] [--image FILE]... [--images DIR]", NULL};

static const char description[] =
    "Without options: the library's version, the libtorch it was built with, CUDA devices\n"
    "and threads. With --model: the backbone's family, size, layout, patch, dimensions,\n"
    "registers, position grid and interpolation, parameters, device and precision.\n"
    "With --image: each image's size, channels and bit depth, as the library decodes it\n"
    "(EXIF orientation applied). With --images: every PNG/JPEG in DIR (not recursive), one\n"
    "line each, broken files reported, then a summary.\n";

typedef struct request {
    const char **images, *folder;
    size_t image_count;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRINGS("image", "FILE", images, image_count, "describe FILE (repeatable)"),
    ROW_STRING("images", "DIR", folder, "describe every image in DIR"),
    ROW_PARAM("max-pixels", "N", DF_PARAM_IMAGE_MAX_PIXELS, "refuse images larger than N pixels"),
    MODEL_ROWS_OPTIONAL(model),
};

static void init(void *r) { model_args_init(&((request *)r)->model); }

static const cli_command info_command = {
    .verb = "info", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0],
    .epilogue = "Exit status: 0 if every image decoded, 2 if one did not, 1 for a usage error.\n",
    .request_size = sizeof(request), .init = init};

static const char *channel_names[] = {"", "grey", "grey+alpha", "RGB", "RGBA"};

static void print_build_info(void) {
    int cuda = 0;
    df_device_available("cuda", &cuda);
    printf("dinofeat %s\n", df_version_string());
    printf("build: %s\n", df_build_info());
    printf("threads: %d\n", df_get_num_threads());
    printf("cuda: %s\n", cuda ? "available" : "not available");
}

/* Describes one image; returns its df_status (the message is printed on failure). */
static df_status describe(const char *path, const df_options *options, int one_line) {
    df_image *image = NULL;
    df_status status = df_image_load(path, options, &image);
    if (status != DF_OK) {
        fprintf(stderr, "dinofeat info: %s\n", df_last_error_message());
        return status;
    }
    size_t channels = df_image_channels(image);
    if (one_line)
        printf("%s\t%zu x %zu\t%zu (%s)\t%zu-bit\n", path, df_image_width(image), df_image_height(image),
               channels, channel_names[channels], df_image_bit_depth(image));
    else
        printf("%s\n  size: %zu x %zu\n  channels: %zu (%s)\n  bit depth: %zu\n", path,
               df_image_width(image), df_image_height(image), channels, channel_names[channels],
               df_image_bit_depth(image));
    df_image_free(image);
    return DF_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int describe_folder(const char *directory, const df_options *options) {
    DIR *dir = opendir(directory);
    if (dir == NULL) {
        perror(directory);
        return EXIT_INPUT;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (!cli_is_image_name(entry->d_name)) continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(names, capacity * sizeof *names);
            if (grown == NULL) break;
            names = grown;
        }
        names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, compare_names);
    cli_progress progress;
    cli_progress_init(&progress, "info");
    size_t failed = 0;
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", directory, names[i]);
        if (describe(path, options, 1) != DF_OK) failed++;
        cli_progress_report(&progress, i + 1, count, "images");
        free(names[i]);
    }
    free(names);
    printf("%zu images, %zu could not be decoded\n", count, failed);
    return failed ? EXIT_INPUT : EXIT_OK;
}

static int describe_model(const model_args *args) {
    df_model *model = NULL;
    int code = model_args_open(args, "info", &model);
    if (code != EXIT_OK) return code;
    static const struct { df_model_info key; const char *label; } texts[] = {
        {DF_MODEL_INFO_FAMILY, "family"}, {DF_MODEL_INFO_SIZE, "size"}, {DF_MODEL_INFO_LAYOUT, "layout"},
        {DF_MODEL_INFO_MLP, "mlp"}, {DF_MODEL_INFO_POS_INTERP, "position interpolation"},
        {DF_MODEL_INFO_DEVICE, "device"}, {DF_MODEL_INFO_PRECISION, "precision"}};
    static const struct { df_model_info key; const char *label; } numbers[] = {
        {DF_MODEL_INFO_PATCH, "patch"}, {DF_MODEL_INFO_STRIDE, "stride"}, {DF_MODEL_INFO_DIM, "dim"},
        {DF_MODEL_INFO_DEPTH, "depth"}, {DF_MODEL_INFO_HEADS, "heads"}, {DF_MODEL_INFO_REGISTERS, "registers"},
        {DF_MODEL_INFO_POS_GRID, "position grid"}, {DF_MODEL_INFO_LAYERSCALE, "layerscale"},
        {DF_MODEL_INFO_PARAMETERS, "parameters"}};
    printf("%s\n", args->path);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *value = "?";
        df_model_info_str(model, texts[i].key, &value);
        printf("  %s: %s\n", texts[i].label, value);
    }
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        int64_t value = 0;
        df_model_info_int(model, numbers[i].key, &value);
        if (numbers[i].key == DF_MODEL_INFO_HEADS && value == 0)
            printf("  %s: unknown (the file does not record it: pass --heads N)\n", numbers[i].label);
        else
            printf("  %s: %lld\n", numbers[i].label, (long long)value);
    }
    df_model_free(model);
    return EXIT_OK;
}

static int run(int argc, char **argv) {
    request r;
    df_options *options = NULL;
    if (cli_options_new(&options) != DF_OK) return cli_fail("info", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&info_command, -1, argc, argv, &r, options);
    model_args margs = r.model;
    const char **images = r.images, *folder = r.folder;
    size_t image_count = r.image_count;
    int has_model = margs.path || margs.device || margs.heads || margs.checkpoint;
    margs.heads_optional = 1;
    if (code == EXIT_OK && has_model) code = describe_model(&margs);
    if (code == EXIT_OK && image_count == 0 && folder == NULL && !has_model) print_build_info();
    for (size_t i = 0; code != EXIT_USAGE && i < image_count; i++) {
        df_status status = describe(images[i], options, 0);
        if (status != DF_OK) code = status == DF_E_OUT_OF_MEMORY || status == DF_E_INTERNAL ? EXIT_INTERNAL : EXIT_INPUT;
    }
    if (code == EXIT_OK && folder != NULL) code = describe_folder(folder, options);
    df_options_free(options);
    free(images);
    return code;
}

const cli_verb verb_info = {"info", "describe the build, a model, an image, or a folder of images", run, &info_command};
