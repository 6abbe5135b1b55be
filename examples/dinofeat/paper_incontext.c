/* Hummingbird's in-context protocol as open-hummingbird-eval's hbird_eval.py runs it (NeCo's
 * Figure 2 and Table 8). The memory: each training image once (one augmentation epoch), a random
 * resized crop (scale 0.5..2, aspect 3/4..4/3; image bilinear, labels nearest) to the input side
 * (dataset.size), brightness, contrast, saturation and hue jitter (0.1 each, each with
 * probability 0.5), normalised with ImageNet's mean and the official std (0.229, 0.224, 0.255:
 * its typo, kept); unlabelled pixels become the memory's unlabelled class; a patch's soft label
 * is its pixels' class fractions; of each image, memory size / images patches (retrieval.bank; 0:
 * every patch), those of lowest score x U(0, 1), a patch's score the sum over its classes of the
 * number of the image's patches holding them (rare classes first). The val images stretched to
 * the side; each patch's estimate the softmax(cosine / 0.02)-weighted sum of its 30 nearest memory
 * patches' labels (retrieval.k, retrieval.temperature; exact search where the official uses
 * ScaNN), upsampled bilinearly to the side, its argmax; mIoU after one-to-one matching by IoU
 * over the val split. Crops, jitter and noise come from our seeded generator (retrieval.seed). */
#include "paper_incontext.h"
#include "cli.h"
#include "paper_crops.h"
#include "training.h"
#include "dinofeat/cache.h"
#include "dinofeat/dataset.h"
#include "dinofeat/eval.h"
#include "dinofeat/image.h"
#include "dinofeat/tensor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORWARD_CHUNK 8                       /* images per forward pass */
#define MEMORY_PURPOSE 0x68626972646d656dull /* "hbirdmem": this protocol's generators */

static const float hbird_mean[3] = {0.485f, 0.456f, 0.406f}, hbird_std[3] = {0.229f, 0.224f, 0.255f};

typedef struct memory_state {
    const incontext_request *r;
    const df_dataset *dataset;
    size_t side, grid, dim, per_image; /* per_image: the patches each image gives the memory */
    uint64_t seed;
    float *pixels, *tokens, *fractions, *picked, *picked_fractions;
    uint8_t *labels;
    size_t *chosen;
    double *scores, *holding; /* (score, patch) pairs; patches holding each class */
    int said; /* the failure was said here, not by the library */
} memory_state;

/* The side of the crops, from dataset.size, a whole number of the model's patches. An exit code. */
static int input_side(const incontext_request *r, const df_options *o, size_t *side, size_t *grid) {
    int64_t size = 0, patch = 0;
    df_status status = df_options_get_int(o, DF_PARAM_DATASET_SIZE, &size);
    if (status == DF_OK) status = df_model_info_int(r->model, DF_MODEL_INFO_PATCH, &patch);
    if (status != DF_OK) return cli_fail("paper", status);
    if (size <= 0 || patch <= 0 || size % patch != 0) {
        fprintf(stderr, "dinofeat paper: %s takes an input side (dataset.size, %lld) that is a whole number of the "
                        "model's %lld-pixel patches\n", r->name, (long long)size, (long long)patch);
        return EXIT_INPUT;
    }
    *side = (size_t)size, *grid = (size_t)(size / patch);
    return EXIT_OK;
}

/* One memory image: its crop, jittered and normalised, into pixels (3 x side^2) and its labels
 * (side^2). Labels of another size than their image are said here (m->said set). */
static df_status memory_item(memory_state *m, size_t item, float *pixels, uint8_t *labels) {
    uint64_t rng = crops_generator(m->seed, MEMORY_PURPOSE, 0, item);
    df_image *image = NULL, *truth = NULL, *rgb = NULL, *crop = NULL, *crop_labels = NULL;
    df_tensor *x = NULL;
    df_status status = df_dataset_get(m->dataset, item, &image, &truth);
    if (status == DF_OK && (df_image_width(image) != df_image_width(truth) || df_image_height(image) != df_image_height(truth))) {
        const char *name = "";
        df_dataset_name(m->dataset, item, &name, NULL);
        fprintf(stderr, "dinofeat paper: %s: the image is %zu x %zu, its labels %zu x %zu\n", name, df_image_width(image),
                df_image_height(image), df_image_width(truth), df_image_height(truth));
        status = DF_E_FORMAT, m->said = 1;
    }
    size_t box[4] = {0};
    if (status == DF_OK) crops_box(&rng, df_image_width(image), df_image_height(image), 0.5, 2.0, box);
    if (status == DF_OK) status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK) status = crops_resized(rgb, box, m->side, DF_RESIZE_BILINEAR, 0, &crop);
    if (status == DF_OK) status = crops_resized(truth, box, m->side, DF_RESIZE_NEAREST, 0, &crop_labels);
    for (int kind = DF_ADJUST_BRIGHTNESS; status == DF_OK && kind <= DF_ADJUST_HUE; kind++) {
        if (crops_uniform(&rng, 0, 1) >= 0.5) continue;
        const double factor = kind == DF_ADJUST_HUE ? crops_uniform(&rng, -0.1, 0.1) : crops_uniform(&rng, 0.9, 1.1);
        df_image *adjusted = NULL;
        status = df_image_adjust(crop, (df_image_adjustment)kind, factor, &adjusted);
        if (status == DF_OK) df_image_free(crop), crop = adjusted;
    }
    if (status == DF_OK) status = df_image_to_tensor(crop, hbird_mean, hbird_std, &x);
    if (status == DF_OK) status = df_tensor_copy_to_host(x, pixels, 3 * m->side * m->side);
    if (status == DF_OK) memcpy(labels, df_image_pixels(crop_labels), m->side * m->side);
    df_tensor_free(x);
    df_image_free(image), df_image_free(truth), df_image_free(rgb), df_image_free(crop), df_image_free(crop_labels);
    return status;
}

/* Each patch's fractions of pixels per memory class (grid^2 x memory_classes). */
static void patch_fractions(const memory_state *m, const uint8_t *labels) {
    const size_t classes = (size_t)m->r->memory_classes, patch = m->side / m->grid;
    memset(m->fractions, 0, m->grid * m->grid * classes * sizeof *m->fractions);
    for (size_t y = 0; y < m->side; y++)
        for (size_t x = 0; x < m->side; x++) {
            const uint8_t label = labels[y * m->side + x];
            const size_t c = label < classes && label != DF_IGNORE_LABEL ? label : (size_t)m->r->unlabelled;
            m->fractions[((y / patch) * m->grid + x / patch) * classes + c] += 1.0f;
        }
    for (size_t i = 0; i < m->grid * m->grid * classes; i++) m->fractions[i] /= (float)(patch * patch);
}

static int by_score(const void *a, const void *b) {
    const double *x = a, *y = b; /* score, then index: ties keep the patch order */
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The per_image patches of lowest score x U(0, 1) into m->chosen (hbird_eval's _sample_features:
 * a patch scores the number of the image's patches holding each of its classes, summed). */
static void choose_patches(memory_state *m, uint64_t *rng) {
    const size_t classes = (size_t)m->r->memory_classes, n = m->grid * m->grid;
    double *holding = m->holding, *pairs = m->scores;
    memset(holding, 0, classes * sizeof *holding);
    for (size_t p = 0; p < n; p++)
        for (size_t c = 0; c < classes; c++) holding[c] += m->fractions[p * classes + c] > 0;
    for (size_t p = 0; p < n; p++) {
        double score = 0;
        for (size_t c = 0; c < classes; c++) score += m->fractions[p * classes + c] > 0 ? holding[c] : 0;
        pairs[2 * p] = score * crops_uniform(rng, 0, 1), pairs[2 * p + 1] = (double)p;
    }
    qsort(pairs, n, 2 * sizeof *pairs, by_score);
    for (size_t i = 0; i < m->per_image; i++) m->chosen[i] = (size_t)pairs[2 * i + 1];
}

/* The chosen patches of image i of the forward chunk into the memory. */
static df_status add_patches(memory_state *m, size_t i, df_retrieval *bank) {
    const size_t classes = (size_t)m->r->memory_classes, n = m->grid * m->grid;
    const float *tokens = m->tokens + i * n * m->dim;
    for (size_t k = 0; k < m->per_image; k++) {
        memcpy(m->picked + k * m->dim, tokens + m->chosen[k] * m->dim, m->dim * sizeof *m->picked);
        memcpy(m->picked_fractions + k * classes, m->fractions + m->chosen[k] * classes, classes * sizeof *m->fractions);
    }
    return df_retrieval_add_soft(bank, m->picked, m->picked_fractions, m->per_image);
}

/* Every image of m->dataset into bank, a forward chunk at a time, with progress. */
static df_status fill_memory(memory_state *m, size_t items, df_retrieval *bank) {
    const size_t plane = 3 * m->side * m->side, area = m->side * m->side;
    cli_progress progress;
    cli_progress_init(&progress, "paper");
    df_status status = DF_OK;
    for (size_t first = 0; status == DF_OK && first < items; first += FORWARD_CHUNK) {
        const size_t count = items - first < FORWARD_CHUNK ? items - first : FORWARD_CHUNK;
        for (size_t i = 0; status == DF_OK && i < count; i++)
            status = memory_item(m, first + i, m->pixels + i * plane, m->labels + i * area);
        if (status == DF_OK)
            status = crops_forward_tokens(m->r->model, m->pixels, count, m->side, m->tokens, m->grid, m->dim, &m->said);
        for (size_t i = 0; status == DF_OK && i < count; i++) {
            uint64_t rng = crops_generator(m->seed, MEMORY_PURPOSE, 1, first + i);
            patch_fractions(m, m->labels + i * area);
            if (m->per_image < m->grid * m->grid) choose_patches(m, &rng);
            else
                for (size_t k = 0; k < m->per_image; k++) m->chosen[k] = k;
            status = add_patches(m, i, bank);
        }
        cli_progress_report(&progress, first + count, items, "memory images");
    }
    return status;
}

static int allocate(memory_state *m) {
    const size_t n = m->grid * m->grid, classes = (size_t)m->r->memory_classes;
    m->pixels = malloc(FORWARD_CHUNK * 3 * m->side * m->side * sizeof *m->pixels);
    m->tokens = malloc(FORWARD_CHUNK * n * m->dim * sizeof *m->tokens);
    m->labels = malloc(FORWARD_CHUNK * m->side * m->side);
    m->fractions = malloc(n * classes * sizeof *m->fractions);
    m->picked = malloc(n * m->dim * sizeof *m->picked);
    m->picked_fractions = malloc(n * classes * sizeof *m->picked_fractions);
    m->chosen = malloc(n * sizeof *m->chosen);
    m->scores = malloc(2 * n * sizeof *m->scores);
    m->holding = malloc(classes * sizeof *m->holding);
    return m->pixels && m->tokens && m->labels && m->fractions && m->picked && m->picked_fractions && m->chosen &&
           m->scores && m->holding;
}

static void release(memory_state *m) {
    free(m->pixels), free(m->tokens), free(m->labels), free(m->fractions), free(m->picked), free(m->picked_fractions);
    free(m->chosen), free(m->scores), free(m->holding);
}

/* One memory from the training split (list: a subset of it, may be NULL); *images its images,
 * *left_out those skip-broken left out. An exit code. */
static int build_memory(memory_state *m, const char *list, const df_options *o, size_t *images, size_t *left_out,
                        df_retrieval **bank) {
    const incontext_request *r = m->r;
    df_dataset *train = NULL;
    int64_t capacity = 0;
    size_t items = 0;
    df_status status = df_options_get_int(o, DF_PARAM_RETRIEVAL_BANK, &capacity);
    if (status == DF_OK) status = crops_open_split(r->data, r->train_split, list, &train);
    if (status == DF_OK) status = df_dataset_count(train, &items);
    int code = status == DF_OK ? EXIT_OK : cli_fail("paper", status);
    if (code == EXIT_OK && items == 0) {
        fprintf(stderr, "dinofeat paper: the %s split of %s%s%s has no images for the memory\n", r->train_split, r->data,
                list ? " listed in " : "", list ? list : "");
        code = EXIT_INPUT;
    }
    const size_t n = m->grid * m->grid, share = capacity > 0 && items ? (size_t)capacity / items : n;
    /* hbird_eval.py keeps at least one patch an image; more than the image has is all of them (its
     * torch.topk would fail) */
    m->per_image = share < 1 ? 1 : share > n ? n : share;
    if (code == EXIT_OK) {
        printf("%s: a memory of %zu patches from each of %zu %s images%s%s\n", r->name, m->per_image, items,
               r->train_split, list ? " listed in " : "", list ? list : "");
        fflush(stdout);
        m->dataset = train;
        status = df_retrieval_new(m->dim, (size_t)r->memory_classes, o, bank);
        if (status == DF_OK) status = fill_memory(m, items, *bank);
        if (status != DF_OK) code = m->said ? EXIT_INPUT : cli_fail("paper", status);
    }
    *images = items, *left_out = 0;
    if (train) df_dataset_skipped(train, SIZE_MAX, left_out, NULL, NULL);
    df_dataset_free(train);
    m->dataset = NULL;
    return code;
}

/* scores (gh x gw x classes) upsampled to height x width as PyTorch's bilinear interpolation
 * (corners not aligned, float arithmetic), each pixel's argmax (the first of equals) into out. */
static void upsampled_argmax(const float *scores, size_t gh, size_t gw, size_t classes, size_t height, size_t width,
                             int32_t *out) {
    const float sy = (float)gh / (float)height, sx = (float)gw / (float)width;
    for (size_t y = 0; y < height; y++) {
        float fy = sy * ((float)y + 0.5f) - 0.5f;
        fy = fy < 0 ? 0 : fy;
        const size_t y0 = (size_t)fy, y1 = y0 + 1 < gh ? y0 + 1 : y0;
        const float ly1 = fy - (float)y0, ly0 = 1.0f - ly1;
        for (size_t x = 0; x < width; x++) {
            float fx = sx * ((float)x + 0.5f) - 0.5f;
            fx = fx < 0 ? 0 : fx;
            const size_t x0 = (size_t)fx, x1 = x0 + 1 < gw ? x0 + 1 : x0;
            const float lx1 = fx - (float)x0, lx0 = 1.0f - lx1;
            const float *a = scores + (y0 * gw + x0) * classes, *b = scores + (y0 * gw + x1) * classes,
                        *c = scores + (y1 * gw + x0) * classes, *d = scores + (y1 * gw + x1) * classes;
            int32_t best = 0;
            float top = 0;
            for (size_t k = 0; k < classes; k++) {
                const float v = ly0 * (lx0 * a[k] + lx1 * b[k]) + ly1 * (lx0 * c[k] + lx1 * d[k]);
                if (k == 0 || v > top) top = v, best = (int32_t)k;
            }
            out[y * width + x] = best;
        }
    }
}

/* The val split's labels from the memory, scored: mIoU after matching (the table's only figure). */
static df_status score_val(const incontext_request *r, const df_retrieval *bank, const df_feature_cache *cache,
                           const df_dataset *val, double *miou) {
    size_t items = 0, gh = 0, gw = 0, dim = 0;
    const size_t classes = (size_t)r->memory_classes;
    df_status status = df_feature_cache_shape(cache, &items, &gh, &gw, &dim);
    float *features = status == DF_OK ? malloc(gh * gw * dim * sizeof *features) : NULL;
    float *scores = status == DF_OK ? malloc(gh * gw * classes * sizeof *scores) : NULL;
    int32_t *predicted = NULL, *truth = NULL;
    df_confusion *confusion = NULL;
    if (status == DF_OK && (features == NULL || scores == NULL)) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_confusion_new(classes, (size_t)r->classes, &confusion);
    cli_progress progress;
    cli_progress_init(&progress, "paper");
    for (size_t i = 0; status == DF_OK && i < items; i++) {
        df_image *labels = NULL;
        status = df_feature_cache_read(cache, i, features);
        if (status == DF_OK) status = df_dataset_get(val, i, NULL, &labels);
        const size_t w = labels ? df_image_width(labels) : 0, h = labels ? df_image_height(labels) : 0;
        int32_t *p = status == DF_OK ? realloc(predicted, w * h * sizeof *predicted) : NULL;
        if (p) predicted = p;
        int32_t *t = p ? realloc(truth, w * h * sizeof *truth) : NULL;
        if (t) truth = t;
        if (status == DF_OK && (p == NULL || t == NULL)) status = DF_E_OUT_OF_MEMORY;
        if (status == DF_OK) status = df_retrieval_predict(bank, features, gh * gw, NULL, scores);
        if (status == DF_OK) upsampled_argmax(scores, gh, gw, classes, h, w, predicted);
        const uint8_t *l = labels ? df_image_pixels(labels) : NULL;
        for (size_t j = 0; status == DF_OK && j < w * h; j++) truth[j] = l[j] < r->classes ? l[j] : DF_IGNORE_LABEL;
        if (status == DF_OK) status = df_confusion_add(confusion, predicted, truth, w * h);
        df_image_free(labels);
        cli_progress_report(&progress, i + 1, items, "val images");
    }
    if (status == DF_OK) status = df_confusion_scores(confusion, DF_MATCH_HUNGARIAN_IOU, miou, NULL, NULL, NULL);
    df_confusion_free(confusion);
    free(features), free(scores), free(predicted), free(truth);
    return status;
}

static int write_json(const incontext_request *r, size_t images, const size_t *memory_images, const double *miou,
                      size_t runs, double mean) {
    char text[4096];
    int n = snprintf(text, sizeof text, "{\"protocol\": \"%s\", \"images\": %zu, \"memory_images\": [", r->name, images);
    for (size_t j = 0; j < runs; j++) n += snprintf(text + n, sizeof text - (size_t)n, "%s%zu", j ? ", " : "", memory_images[j]);
    n += snprintf(text + n, sizeof text - (size_t)n, "], \"ours\": {\"mIoU\": %.9g, \"mIoU_each\": [", 100 * mean);
    for (size_t j = 0; j < runs; j++) n += snprintf(text + n, sizeof text - (size_t)n, "%s%.9g", j ? ", " : "", 100 * miou[j]);
    n += snprintf(text + n, sizeof text - (size_t)n, "]}, \"published\": {\"mIoU\": %.1f}, \"source\": \"%s\"}\n",
                  r->published, r->source);
    if (n < 0 || (size_t)n >= sizeof text) return cli_fail("paper", DF_E_INTERNAL);
    if (cli_write_file(r->json, text, (size_t)n) == 0) return printf("wrote %s\n", r->json), EXIT_OK;
    fprintf(stderr, "dinofeat paper: %s: %s\n", r->json, strerror(errno));
    return EXIT_INPUT;
}

static void print_row(const incontext_request *r, size_t images, const size_t *memory_images, const double *miou,
                      size_t runs, double mean) {
    printf("\n%s on %zu images; published: %s\n", r->name, images, r->source);
    for (size_t j = 0; r->list_count && j < runs; j++)
        printf("  memory of %s (%zu images): mIoU %.1f\n", r->lists[j], memory_images[j], 100 * miou[j]);
    printf("  %-10s %8s %10s\n  %-10s %8.1f %10.1f\n", "", "ours", "published", "mIoU", 100 * mean, r->published);
}

int paper_incontext(const incontext_request *r) {
    df_options *o = NULL;
    df_dataset *val = NULL;
    df_feature_cache *cache = NULL;
    memory_state m = {.r = r};
    int64_t dim = 0, seed = 0;
    char *cache_path = cli_suffixed(r->out, "/features.dffeat");
    df_status status = cache_path ? cli_options_new(&o) : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_options_get_int(o, DF_PARAM_RETRIEVAL_SEED, &seed);
    if (status == DF_OK) status = df_model_info_int(r->model, DF_MODEL_INFO_DIM, &dim);
    int code = status == DF_OK ? input_side(r, o, &m.side, &m.grid) : cli_fail("paper", status);
    m.dim = (size_t)dim, m.seed = (uint64_t)seed;
    if (code == EXIT_OK && !allocate(&m)) code = cli_fail("paper", DF_E_OUT_OF_MEMORY);
    /* the val features first: cached in OUT, so a rerun (another list, another memory) reuses them */
    if (code == EXIT_OK) status = cli_open_dataset(r->data, NULL, o, "paper", &val);
    if (code == EXIT_OK && status == DF_OK) status = cli_build_cache(r->model, val, cache_path, "paper");
    if (code == EXIT_OK && status == DF_OK) status = df_feature_cache_open(cache_path, &cache);
    if (code == EXIT_OK && status != DF_OK) code = cli_fail("paper", status);
    const size_t runs = r->list_count ? r->list_count : 1;
    size_t memory_images[INCONTEXT_MAX_LISTS] = {0}, left_out = 0, images = 0;
    double miou[INCONTEXT_MAX_LISTS] = {0}, mean = 0;
    for (size_t j = 0; code == EXIT_OK && j < runs; j++) {
        df_retrieval *bank = NULL;
        size_t skipped = 0;
        code = build_memory(&m, r->list_count ? r->lists[j] : NULL, o, &memory_images[j], &skipped, &bank);
        left_out += skipped;
        if (code == EXIT_OK) status = score_val(r, bank, cache, val, &miou[j]);
        if (code == EXIT_OK && status != DF_OK) code = cli_fail("paper", status);
        mean += miou[j] / (double)runs;
        df_retrieval_free(bank);
    }
    if (code == EXIT_OK) status = df_feature_cache_shape(cache, &images, NULL, NULL, NULL);
    if (code == EXIT_OK) print_row(r, images, memory_images, miou, runs, mean);
    if (code == EXIT_OK && r->json) code = write_json(r, images, memory_images, miou, runs, mean);
    size_t val_left_out = 0;
    if (val) df_dataset_skipped(val, SIZE_MAX, &val_left_out, NULL, NULL);
    if (code == EXIT_OK && left_out + val_left_out > 0) {
        fprintf(stderr, "dinofeat paper: %zu memory and %zu val images were left out (listed above): the figure is not "
                        "over the whole splits\n", left_out, val_left_out);
        code = EXIT_INPUT;
    }
    release(&m);
    df_feature_cache_free(cache);
    df_dataset_free(val);
    df_options_free(o);
    free(cache_path);
    return code;
}
