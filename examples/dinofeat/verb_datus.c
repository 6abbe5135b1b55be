/* dinofeat datus: DatUS² pseudo-annotated segmentation masks for an unlabelled image folder or a
 * distributed dataset's images. */
#include "verb_datus.h"
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"
#include "dinofeat/datus.h"
#include "dinofeat/weak.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const usages[] = {"--model M --images DIR --clusters K --out-dir D [options]", NULL};

static const char description[] =
    "DatUS² (Kumar et al. 2024): pseudo-annotated semantic segmentation masks for a folder of\n"
    "unlabelled images, or a dataset as distributed (--images ROOT --set dataset.layout=NAME,\n"
    "dataset.split; its labels are not read). Per image (resized to --side x --side): the last\n"
    "block's patch keys, the graph of positive key affinities, Louvain communities (igraph), their\n"
    "8-connected pieces; pieces of more than --threshold patches are segments, the rest noise. Each\n"
    "segment's masked tight crop (short side 256, centre 224) gives a [CLS] feature; k-means over\n"
    "every segment of the dataset gives each its cluster, and each image a mask: clusters 0..K-1,\n"
    "255 = unlabelled (noise).\n"
    "\n"
    "The run streams image by image into D/segments.dfds and can be stopped at any time: run the\n"
    "same command again and it continues from the images it completed (the settings must match).\n"
    "Writes:\n"
    "  D/masks/NAME.png    the pseudo mask of each image (palette PNG, the image's size; the\n"
    "                      images' subfolders are kept)\n"
    "  D/segments.csv      image,segment,patches,cluster: one row per segment\n"
    "  D/gallery.png       the first --gallery images beside their masks\n"
    "  D/denoised/NAME.png with --denoise: every pixel labelled by a de-noising segmenter\n"
    "Score the masks with: dinofeat eval --task semseg --pred D/masks --gt LABELS --clusters K\n"
    "(255 unscored), or run a paper's protocol end to end: dinofeat paper datus-suim.\n";

typedef struct request {
    const char *images, *out_dir;
    long clusters, gallery;
    int denoise;
    df_options *settings; /* datus.*, kmeans.* and dataset.* */
    model_args model;
    datus_images listing;
} request;

static const cli_row rows[] = {
    ROW_STRING("images", "DIR", images, "the images (PNG/JPEG, subfolders included)", 0, CLI_ROW_REQUIRED),
    ROW_LONG("clusters", "K", clusters, 1, DF_DATUS_NOISE, "k-means clusters, 1..255 (the number of classes, or more)", 0,
             CLI_ROW_REQUIRED),
    ROW_STRING("out-dir", "DIR", out_dir, "where everything goes (created)", 0, CLI_ROW_REQUIRED),
    ROW_PARAM("threshold", "T", DF_PARAM_DATUS_THRESHOLD, "segments need more than T patches"),
    ROW_PARAM("side", "S", DF_PARAM_DATUS_SIZE, "images are resized to S x S for the keys"),
    ROW_PARAM("pca-dims", "N", DF_PARAM_DATUS_PCA,
              "project the segment features on N principal components first (0: none;\n"
              "PCA with every component changes nothing for k-means)"),
    ROW_PARAM("seed", "N", DF_PARAM_DATUS_SEED, "Louvain's and k-means' seed"),
    ROW_PARAM("kmeans-sample", "N", DF_PARAM_KMEANS_SAMPLE,
              "fit k-means on N random segments, then assign every segment (for\n"
              "datasets of very many segments; 0: fit on all)"),
    ROW_SWITCH("denoise", denoise,
               "also train the de-noising segmenter on the pseudo masks (a linear head\n"
               "on stride-4 backbone features, 1000 pixels an image) and label every pixel"),
    ROW_LONG("gallery", "N", gallery, 0, 1000, "images in the gallery (0: none)"),
    MODEL_ROWS(model),
};

static void init(void *request_) {
    request *r = request_;
    memset(&r->listing, 0, sizeof r->listing);
    r->gallery = 4;
    model_args_init(&r->model);
}

static const cli_command datus_command = {
    .verb = "datus", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0],
    .epilogue = "Exit status: 0 ok, 1 usage, 2 input error (images that failed are listed; the others are\n"
                "kept and a rerun retries them), 3 internal.\n",
    .request_size = sizeof(request), .init = init};

/* The rows, and what follows from them: k-means gets the clusters and the seed. */
static int parse(int argc, char **argv, request *r, df_options *settings) {
    int code = cli_rows_parse(&datus_command, -1, argc, argv, r, settings);
    r->settings = settings;
    int64_t seed = 0;
    if (code == EXIT_OK && df_options_get_int(settings, DF_PARAM_DATUS_SEED, &seed) == DF_OK)
        df_options_set_int(settings, DF_PARAM_KMEANS_SEED, seed);
    if (code == EXIT_OK) df_options_set_int(settings, DF_PARAM_KMEANS_K, r->clusters);
    return code;
}

static char *path_in(const char *folder, const char *a, const char *b) {
    size_t n = strlen(folder) + strlen(a) + (b ? strlen(b) : 0) + 3;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s%s%s", folder, a, b ? "/" : "", b ? b : "");
    return out;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const datus_named *)a)->name, ((const datus_named *)b)->name);
}

int datus_images_open(const char *images, const df_options *settings, const char *verb, datus_images *out) {
    memset(out, 0, sizeof *out);
    df_status status = df_dataset_open(images, NULL, settings, &out->dataset); /* broken images: listed as met */
    if (status == DF_OK) status = df_dataset_count(out->dataset, &out->count);
    if (status == DF_OK && ((out->names = calloc(out->count, sizeof *out->names)) == NULL ||
                            (out->sorted = calloc(out->count, sizeof *out->sorted)) == NULL))
        status = DF_E_OUT_OF_MEMORY;
    for (size_t i = 0; status == DF_OK && i < out->count; i++) {
        status = df_dataset_name(out->dataset, i, &out->names[i], NULL);
        out->sorted[i] = (datus_named){out->names[i], i};
    }
    if (status == DF_OK) qsort(out->sorted, out->count, sizeof *out->sorted, by_name);
    if (status != DF_OK) datus_images_free(out);
    return status == DF_OK ? EXIT_OK : cli_fail(verb, status);
}

void datus_images_free(datus_images *images) {
    free(images->names), free(images->sorted);
    df_dataset_free(images->dataset);
    memset(images, 0, sizeof *images);
}

/* The image a record names, from the dataset (decoded as its settings say); one an earlier run
 * recorded that the listing has lost is looked for at its path, so the error names the file. */
static df_status load_rgb(const request *r, const char *name, df_image **out) {
    const datus_named key = {name, 0}, *found = bsearch(&key, r->listing.sorted, r->listing.count,
                                                         sizeof key, by_name);
    if (found) return df_dataset_get(r->listing.dataset, found->index, out, NULL);
    char *path = path_in(r->images, name, NULL);
    df_status status = path ? df_image_load(path, NULL, out) : DF_E_OUT_OF_MEMORY;
    free(path);
    return status;
}

/* Steps 1 to 6 for every image not recorded yet; failures are listed and skipped, except the
 * store's own (*fatal). */
static int record_images(const char *verb, const datus_images *listing, df_datus *run, df_model *model, int *fatal) {
    cli_progress progress;
    cli_progress_init(&progress, verb);
    size_t failures = 0, skipped = 0;
    for (size_t i = 0; i < listing->count; i++) {
        int found = 0;
        df_datus_find(run, listing->names[i], &found, NULL);
        skipped += found;
        if (!found) {
            df_image *image = NULL;
            df_status status = df_dataset_get(listing->dataset, i, &image, NULL);
            if (status == DF_OK) status = df_datus_add_image(run, model, listing->names[i], image);
            if (status == DF_E_IO && strstr(df_last_error_message(), ".dfds")) {
                df_image_free(image);
                *fatal = 1;
                return cli_fail(verb, status); /* the store itself failed: stop */
            }
            if (status != DF_OK)
                failures++, fprintf(stderr, "dinofeat %s: %s: %s\n", verb, listing->names[i], df_last_error_message());
            df_image_free(image);
        }
        cli_progress_report(&progress, i + 1, listing->count, "segments of images");
    }
    if (skipped) fprintf(stderr, "dinofeat %s: resumed: %zu of %zu images were recorded already\n", verb, skipped, listing->count);
    if (failures) fprintf(stderr, "dinofeat %s: %zu image(s) failed (listed above)\n", verb, failures);
    return failures ? EXIT_INPUT : EXIT_OK;
}

/* Cluster c's colour, unlabelled black. */
static void mask_palette(uint8_t palette[256 * 3]) {
    for (int c = 0; c < 256; c++) cli_class_colour(c, palette + 3 * c);
    memset(palette + 3 * DF_DATUS_NOISE, 0, 3);
}

static df_status write_mask(const char *verb, const char *folder, const char *name, const uint8_t *labels, size_t w,
                            size_t h) {
    uint8_t palette[256 * 3];
    mask_palette(palette);
    char *path = cli_output_name(folder, name, ".png");
    df_image *image = NULL;
    df_status status = path ? df_image_new(w, h, 1, 8, &image) : DF_E_IO;
    if (path == NULL) fprintf(stderr, "dinofeat %s: %s: %s\n", verb, folder, strerror(errno));
    if (status == DF_OK) memcpy(df_image_pixels(image), labels, w * h);
    if (status == DF_OK) status = df_image_save_palette_png(image, palette, 256, path);
    df_image_free(image);
    free(path);
    return status;
}

/* Step 8: every record's pseudo mask at its image's size. */
static int write_masks(const char *verb, const char *folder, const df_datus *run) {
    size_t images = 0;
    df_status status = df_datus_images(run, &images);
    for (size_t i = 0; status == DF_OK && i < images; i++) {
        const char *name;
        size_t w, h;
        uint8_t *mask = NULL;
        status = df_datus_image(run, i, &name, &w, &h, NULL);
        if (status == DF_OK) status = (mask = malloc(w * h)) ? df_datus_mask(run, i, w, h, mask) : DF_E_OUT_OF_MEMORY;
        if (status == DF_OK) status = write_mask(verb, folder, name, mask, w, h);
        free(mask);
    }
    return status == DF_OK ? EXIT_OK : cli_fail(verb, status);
}

/* image,segment,patches,cluster for every segment; a name with a comma or quote is quoted. */
static void write_csv_name(FILE *f, const char *name) {
    if (strpbrk(name, ",\"\n") == NULL) {
        fputs(name, f);
        return;
    }
    fputc('"', f);
    for (const char *c = name; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

static int write_table(const request *r, const df_datus *run, size_t images, size_t *total, size_t *noise) {
    char *path = path_in(r->out_dir, "segments.csv", NULL);
    cli_output out;
    FILE *f = path ? cli_output_open(path, &out) : NULL;
    if (f == NULL) {
        fprintf(stderr, "dinofeat datus: %s: %s\n", path ? path : r->out_dir, strerror(errno));
        free(path);
        return EXIT_INPUT;
    }
    fprintf(f, "image,segment,patches,cluster\n");
    *total = *noise = 0;
    for (size_t i = 0; i < images; i++) {
        const char *name;
        const int32_t *grid, *clusters;
        size_t count, gh, gw;
        df_datus_image(run, i, &name, NULL, NULL, &count);
        df_datus_grid(run, i, &grid, &gh, &gw);
        df_datus_segment_clusters(run, i, &clusters);
        size_t *patches = calloc(count + 1, sizeof *patches);
        for (size_t p = 0; patches && p < gh * gw; p++) patches[grid[p]]++;
        for (size_t s = 1; patches && s <= count; s++) {
            write_csv_name(f, name);
            fprintf(f, ",%zu,%zu,%d\n", s, patches[s], clusters[s - 1]);
        }
        *total += count;
        *noise += patches ? patches[0] : 0;
        free(patches);
    }
    int failed = cli_output_commit(&out);
    if (failed) fprintf(stderr, "dinofeat datus: %s: %s\n", path, strerror(errno));
    free(path);
    return failed ? EXIT_INPUT : EXIT_OK;
}

enum { TILE = 192, GAP = 4, DENOISE_TRAINING_IMAGES = 200 };

/* label (w x h cluster ids, 255 noise) in palette colours into the canvas at (x0, y0). */
static void paint_labels(uint8_t *canvas, size_t cw, size_t x0, size_t y0, const uint8_t *labels) {
    uint8_t palette[256 * 3];
    mask_palette(palette);
    for (size_t y = 0; y < TILE; y++)
        for (size_t x = 0; x < TILE; x++) memcpy(canvas + ((y0 + y) * cw + x0 + x) * 3, palette + 3 * labels[y * TILE + x], 3);
}

static df_status paint_image(uint8_t *canvas, size_t cw, size_t x0, size_t y0, const df_image *image) {
    df_image *rgb = NULL, *tile = NULL;
    df_status status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK) status = df_image_resize(rgb, TILE, TILE, DF_RESIZE_BICUBIC, &tile);
    for (size_t y = 0; status == DF_OK && y < TILE; y++)
        memcpy(canvas + ((y0 + y) * cw + x0) * 3, (uint8_t *)df_image_pixels(tile) + y * TILE * 3, TILE * 3);
    df_image_free(tile);
    df_image_free(rgb);
    return status;
}

/* The denoiser's labels (1..K) of the tile-sized image, as cluster ids. */
static df_status denoised_tile(const df_weak *denoiser, df_model *model, const df_image *image, uint8_t *labels) {
    df_image *rgb = NULL, *tile = NULL;
    int32_t *classes = malloc(TILE * TILE * sizeof *classes);
    df_status status = classes ? df_image_convert(image, 3, &rgb) : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_image_resize(rgb, TILE, TILE, DF_RESIZE_BICUBIC, &tile);
    if (status == DF_OK) status = df_weak_predict(denoiser, model, tile, NULL, NULL, classes);
    for (size_t p = 0; status == DF_OK && p < TILE * TILE; p++) labels[p] = (uint8_t)(classes[p] - 1);
    free(classes);
    df_image_free(tile);
    df_image_free(rgb);
    return status;
}

/* The first n images, each beside its pseudo mask (and its de-noised labels). */
static int write_gallery(const request *r, const df_datus *run, size_t images, const df_weak *denoiser,
                         df_model *model) {
    const size_t n = (size_t)r->gallery < images ? (size_t)r->gallery : images, columns = denoiser ? 3 : 2;
    if (n == 0) return EXIT_OK;
    const size_t cw = columns * TILE + (columns + 1) * GAP, ch = n * TILE + (n + 1) * GAP;
    df_image *canvas = NULL;
    uint8_t labels[TILE * TILE];
    df_status status = df_image_new(cw, ch, 3, 8, &canvas);
    if (status == DF_OK) memset(df_image_pixels(canvas), 255, cw * ch * 3);
    for (size_t i = 0; status == DF_OK && i < n; i++) {
        const char *name;
        df_image *image = NULL;
        uint8_t *pixels = df_image_pixels(canvas);
        const size_t y0 = GAP + i * (TILE + GAP);
        status = df_datus_image(run, i, &name, NULL, NULL, NULL);
        if (status == DF_OK) status = load_rgb(r, name, &image);
        if (status == DF_OK) status = paint_image(pixels, cw, GAP, y0, image);
        if (status == DF_OK) status = df_datus_mask(run, i, TILE, TILE, labels);
        if (status == DF_OK) paint_labels(pixels, cw, 2 * GAP + TILE, y0, labels);
        if (status == DF_OK && denoiser) status = denoised_tile(denoiser, model, image, labels);
        if (status == DF_OK && denoiser) paint_labels(pixels, cw, 3 * GAP + 2 * TILE, y0, labels);
        df_image_free(image);
    }
    char *path = path_in(r->out_dir, "gallery.png", NULL);
    if (status == DF_OK) status = path ? df_image_save_png(canvas, path) : DF_E_OUT_OF_MEMORY;
    free(path);
    df_image_free(canvas);
    return status == DF_OK ? EXIT_OK : cli_fail("datus", status);
}

/* Step 9: the de-noiser, trained on up to DENOISE_TRAINING_IMAGES evenly spaced images. */
static int train_denoiser(const request *r, const df_datus *run, size_t images, df_model *model, df_weak **out) {
    const size_t n = images < DENOISE_TRAINING_IMAGES ? images : DENOISE_TRAINING_IMAGES;
    size_t *indices = calloc(n, sizeof *indices);
    df_image **pictures = calloc(n, sizeof *pictures);
    df_status status = indices && pictures ? DF_OK : DF_E_OUT_OF_MEMORY;
    for (size_t k = 0; status == DF_OK && k < n; k++) {
        const char *name;
        indices[k] = k * images / n;
        status = df_datus_image(run, indices[k], &name, NULL, NULL, NULL);
        if (status == DF_OK) status = load_rgb(r, name, &pictures[k]);
    }
    if (status == DF_OK) {
        fprintf(stderr, "dinofeat datus: training the de-noising segmenter on %zu image(s)...\n", n);
        status = df_datus_denoise(run, model, indices, (const df_image *const *)pictures, n, NULL, out);
    }
    for (size_t k = 0; pictures && k < n; k++) df_image_free(pictures[k]);
    free(pictures);
    free(indices);
    return status == DF_OK ? EXIT_OK : cli_fail("datus", status);
}

static int write_denoised(const request *r, const df_datus *run, size_t images, const df_weak *denoiser,
                          df_model *model) {
    char *folder = path_in(r->out_dir, "denoised", NULL);
    cli_progress progress;
    cli_progress_init(&progress, "datus");
    df_status status = folder ? DF_OK : DF_E_OUT_OF_MEMORY;
    for (size_t i = 0; status == DF_OK && i < images; i++) {
        const char *name;
        df_image *image = NULL;
        int32_t *classes = NULL;
        uint8_t *labels = NULL;
        status = df_datus_image(run, i, &name, NULL, NULL, NULL);
        if (status == DF_OK) status = load_rgb(r, name, &image);
        const size_t n = image ? df_image_width(image) * df_image_height(image) : 0;
        if (status == DF_OK && ((classes = malloc(n * sizeof *classes)) == NULL || (labels = malloc(n)) == NULL))
            status = DF_E_OUT_OF_MEMORY;
        if (status == DF_OK) status = df_weak_predict(denoiser, model, image, NULL, NULL, classes);
        for (size_t p = 0; status == DF_OK && p < n; p++) labels[p] = (uint8_t)(classes[p] - 1);
        if (status == DF_OK)
            status = write_mask("datus", folder, name, labels, df_image_width(image), df_image_height(image));
        free(classes);
        free(labels);
        df_image_free(image);
        cli_progress_report(&progress, i + 1, images, "de-noised images");
    }
    free(folder);
    return status == DF_OK ? EXIT_OK : cli_fail("datus", status);
}

int datus_pseudo_masks(const datus_job *job, df_datus **run, int *some_failed) {
    *run = NULL;
    *some_failed = 0;
    int64_t patch = 0, size = 0, k = 0;
    df_options_get_int(job->settings, DF_PARAM_KMEANS_K, &k);
    if (df_model_info_int(job->model, DF_MODEL_INFO_PATCH, &patch) == DF_OK &&
        df_options_get_int(job->settings, DF_PARAM_DATUS_SIZE, &size) == DF_OK && size < patch)
        return cli_usage_error(job->verb, "%s %lld is smaller than the model's %lld-pixel patch", job->size_name,
                               (long long)size, (long long)patch);
    if (cli_make_parents(job->store) != 0) {
        fprintf(stderr, "dinofeat %s: %s: %s\n", job->verb, job->store, strerror(errno));
        return EXIT_INPUT;
    }
    df_status status = df_datus_open(job->store, job->settings, run);
    int code = status == DF_OK ? EXIT_OK : cli_fail(job->verb, status), fatal = 0;
    if (code == EXIT_OK && record_images(job->verb, job->listing, *run, job->model, &fatal) != EXIT_OK)
        *some_failed = 1; /* listed by record_images */
    size_t images = 0;
    if (code == EXIT_OK) df_datus_images(*run, &images);
    if (code == EXIT_OK && (fatal || images == 0)) code = EXIT_INPUT;
    if (code == EXIT_OK)
        fprintf(stderr, "dinofeat %s: k-means (K = %lld) over the segments of %zu image(s)...\n", job->verb, (long long)k,
                images);
    if (code == EXIT_OK && (status = df_datus_cluster(*run, job->settings)) != DF_OK) code = cli_fail(job->verb, status);
    if (code == EXIT_OK) code = write_masks(job->verb, job->masks, *run);
    if (code != EXIT_OK) df_datus_free(*run), *run = NULL;
    return code;
}

/* What is written from the clustered records: the table, the de-noised labels, the gallery. */
static int finish(const request *r, df_datus *run, df_model *model) {
    size_t images = 0, segments = 0, noise = 0;
    df_datus_images(run, &images);
    int code = write_table(r, run, images, &segments, &noise);
    df_weak *denoiser = NULL;
    if (code == EXIT_OK && r->denoise) code = train_denoiser(r, run, images, model, &denoiser);
    if (code == EXIT_OK && denoiser) code = write_denoised(r, run, images, denoiser, model);
    if (code == EXIT_OK) code = write_gallery(r, run, images, denoiser, model);
    df_weak_free(denoiser);
    if (code == EXIT_OK)
        printf("datus: %zu images, %zu segments in %ld clusters; masks in %s/masks%s\n", images, segments, r->clusters,
               r->out_dir, r->denoise ? ", de-noised in denoised/" : "");
    return code;
}

static int run(int argc, char **argv) {
    request r;
    df_options *settings = NULL;
    if (cli_options_new(&settings) != DF_OK) return cli_fail("datus", DF_E_OUT_OF_MEMORY);
    int code = parse(argc, argv, &r, settings);
    char *store = code == EXIT_OK ? path_in(r.out_dir, "segments.dfds", NULL) : NULL,
         *masks = code == EXIT_OK ? path_in(r.out_dir, "masks", NULL) : NULL;
    if (code == EXIT_OK && (store == NULL || masks == NULL)) code = cli_fail("datus", DF_E_OUT_OF_MEMORY);
    if (code == EXIT_OK) code = datus_images_open(r.images, settings, "datus", &r.listing);
    df_model *model = NULL;
    df_datus *datus = NULL;
    int some_failed = 0;
    if (code == EXIT_OK) code = model_args_open(&r.model, "datus", &model);
    const datus_job job = {"datus", "--side", &r.listing, model, settings, store, masks};
    if (code == EXIT_OK) code = datus_pseudo_masks(&job, &datus, &some_failed);
    if (code == EXIT_OK) code = finish(&r, datus, model);
    if (code == EXIT_OK && some_failed) code = EXIT_INPUT;
    df_datus_free(datus);
    df_model_free(model);
    datus_images_free(&r.listing);
    free(store), free(masks);
    df_options_free(settings);
    return code;
}

const cli_verb verb_datus = {"datus", "DatUS² pseudo-annotated segmentation masks for an image folder", run, &datus_command};
