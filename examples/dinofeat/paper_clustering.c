/* NeCo's clustering protocol, as its evaluation code (Leopart's) runs it: every image stretched to
 * 448 x 448, the backbone's final-norm patch tokens of the whole dataset standardised per channel
 * (scikit-learn's StandardScaler), reduced to 50 principal components (faiss's PCAMatrix, fit on
 * at most 1,000 points per dimension), k-means (faiss: 5 initialisations, 100 iterations, fit on
 * at most 256 points per cluster) for seeds 0..4; cluster maps and labels resized to 100 x 100 by
 * PyTorch's nearest neighbour; K = classes matched one to one by IoU, more clusters each to the
 * class it overlaps most; the mIoU averaged over the seeds. */
#include "paper_clustering.h"
#include "cli.h"
#include "training.h"
#include "dinofeat/cache.h"
#include "dinofeat/cluster.h"
#include "dinofeat/eval.h"
#include "dinofeat/tensor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_SIDE 100       /* the side the maps are compared at */
#define COMPONENTS 50       /* PCA's output dimensions (fewer when the backbone has fewer) */
#define SEEDS 5
#define PCA_POINTS_PER_DIM 1000
#define KMEANS_POINTS_PER_CLUSTER 256

int clustering_parse_k(const char *text, long *k, size_t *count) {
    *count = 0;
    char *copy = strdup(text), *rest = copy, *piece;
    int bad = copy == NULL;
    while (!bad && (piece = strsep(&rest, ",")) != NULL)
        bad = *count == CLUSTERING_MAX_K || cli_parse_long(piece, 2, 100000, &k[(*count)++]) != 0;
    free(copy);
    return bad || *count == 0 ? -1 : 0;
}

size_t torch_nearest_index(size_t dst, size_t in, size_t out) {
    if (in == out) return dst;
    if (out == 2 * in) return dst >> 1;
    const float scale = (float)in / (float)out;
    const size_t src = (size_t)floorf((float)dst * scale);
    return src < in - 1 ? src : in - 1;
}

/* The dataset's tokens as the protocol clusters them. */
typedef struct tokens {
    size_t items, gh, gw, dim, components;
    float *projected;   /* items x gh x gw x components */
    uint8_t *labels;    /* items x EVAL_SIDE x EVAL_SIDE, 255 ignored */
} tokens;

/* Each channel's mean and standard deviation over every token (float64 sums, population
 * deviation; a constant channel keeps scale 1, as scikit-learn). */
static df_status channel_statistics(const df_feature_cache *cache, const tokens *t, float *features, float *mean,
                                    float *scale) {
    double *sum = calloc(t->dim, sizeof *sum), *squares = calloc(t->dim, sizeof *squares);
    df_status status = sum && squares ? DF_OK : DF_E_OUT_OF_MEMORY;
    const size_t per_item = t->gh * t->gw;
    for (size_t i = 0; status == DF_OK && i < t->items; i++) {
        status = df_feature_cache_read(cache, i, features);
        for (size_t p = 0; status == DF_OK && p < per_item; p++)
            for (size_t c = 0; c < t->dim; c++) {
                const double v = features[p * t->dim + c];
                sum[c] += v, squares[c] += v * v;
            }
    }
    const double n = (double)(t->items * per_item);
    for (size_t c = 0; status == DF_OK && c < t->dim; c++) {
        const double m = sum[c] / n, variance = fmax(squares[c] / n - m * m, 0.0), deviation = sqrt(variance);
        mean[c] = (float)m;
        scale[c] = deviation < 10 * 2.220446049250313e-16 ? 1.0f : (float)deviation;
    }
    free(sum), free(squares);
    return status;
}

static void standardise(float *point, const float *mean, const float *scale, size_t dim) {
    for (size_t c = 0; c < dim; c++) point[c] = (point[c] - mean[c]) / scale[c];
}

/* The principal axes of at most PCA_POINTS_PER_DIM x dim standardised tokens, taken at evenly
 * spaced places (faiss draws them at random; any large sample spans the same axes). */
static df_status principal_axes(const df_feature_cache *cache, const tokens *t, float *features, const float *mean,
                                const float *scale, float *centre, float *basis) {
    const size_t per_item = t->gh * t->gw, total = t->items * per_item;
    const size_t wanted = PCA_POINTS_PER_DIM * t->dim < total ? PCA_POINTS_PER_DIM * t->dim : total;
    float *sample = malloc(wanted * t->dim * sizeof *sample);
    df_status status = sample ? DF_OK : DF_E_OUT_OF_MEMORY;
    size_t taken = 0;
    for (size_t i = 0; status == DF_OK && i < t->items && taken < wanted; i++) {
        /* token taken: the j-th is at floor(j * total / wanted) */
        const size_t first = i * per_item, last = first + per_item;
        if ((taken * total) / wanted >= last) continue;
        status = df_feature_cache_read(cache, i, features);
        while (status == DF_OK && taken < wanted && (taken * total) / wanted < last) {
            float *point = sample + taken * t->dim;
            memcpy(point, features + ((taken * total) / wanted - first) * t->dim, t->dim * sizeof *point);
            standardise(point, mean, scale, t->dim);
            taken++;
        }
    }
    if (status == DF_OK) status = df_pca_fit(sample, taken, t->dim, t->components, centre, basis);
    free(sample);
    return status;
}

/* Every token standardised and projected on the axes. */
static df_status project_tokens(const df_feature_cache *cache, tokens *t, float *features, const float *mean,
                                const float *scale, const float *centre, const float *basis) {
    const size_t per_item = t->gh * t->gw, k = t->components, d = t->dim;
    df_status status = DF_OK;
    for (size_t i = 0; status == DF_OK && i < t->items; i++) {
        status = df_feature_cache_read(cache, i, features);
        float *out = t->projected + i * per_item * k;
        for (size_t p = 0; p < per_item; p++) {
            float *point = features + p * d;
            standardise(point, mean, scale, d);
            for (size_t c = 0; c < d; c++) point[c] -= centre[c];
            for (size_t j = 0; j < k; j++) {
                float dot = 0;
                for (size_t c = 0; c < d; c++) dot += basis[j * d + c] * point[c];
                out[p * k + j] = dot;
            }
        }
    }
    return status;
}

/* Each image's labels as the protocol compares them: EVAL_SIDE x EVAL_SIDE by nearest neighbour. */
static df_status read_labels(const df_dataset *dataset, tokens *t) {
    df_status status = DF_OK;
    for (size_t i = 0; status == DF_OK && i < t->items; i++) {
        df_image *labels = NULL;
        status = df_dataset_get(dataset, i, NULL, &labels);
        const size_t w = labels ? df_image_width(labels) : 0, h = labels ? df_image_height(labels) : 0;
        const uint8_t *p = labels ? df_image_pixels(labels) : NULL;
        uint8_t *out = t->labels + i * EVAL_SIDE * EVAL_SIDE;
        for (size_t y = 0; status == DF_OK && y < EVAL_SIDE; y++)
            for (size_t x = 0; x < EVAL_SIDE; x++)
                out[y * EVAL_SIDE + x] = p[torch_nearest_index(y, h, EVAL_SIDE) * w + torch_nearest_index(x, w, EVAL_SIDE)];
        df_image_free(labels);
    }
    return status;
}

/* The standardised, projected tokens and the labels of the dataset's cache. */
static df_status prepare_tokens(const df_feature_cache *cache, const df_dataset *dataset, tokens *t) {
    df_status status = df_feature_cache_shape(cache, &t->items, &t->gh, &t->gw, &t->dim);
    if (status != DF_OK) return status;
    t->components = t->dim < COMPONENTS ? t->dim : COMPONENTS;
    float *features = malloc(t->gh * t->gw * t->dim * sizeof *features), *statistics = malloc(3 * t->dim * sizeof *statistics),
          *basis = malloc(t->components * t->dim * sizeof *basis);
    t->projected = malloc(t->items * t->gh * t->gw * t->components * sizeof *t->projected);
    t->labels = malloc(t->items * EVAL_SIDE * EVAL_SIDE);
    if (features == NULL || statistics == NULL || basis == NULL || t->projected == NULL || t->labels == NULL)
        status = DF_E_OUT_OF_MEMORY;
    float *mean = statistics, *scale = statistics + t->dim, *centre = statistics + 2 * t->dim;
    if (status == DF_OK) status = channel_statistics(cache, t, features, mean, scale);
    if (status == DF_OK) status = principal_axes(cache, t, features, mean, scale, centre, basis);
    if (status == DF_OK) status = project_tokens(cache, t, features, mean, scale, centre, basis);
    if (status == DF_OK) status = read_labels(dataset, t);
    free(features), free(statistics), free(basis);
    return status;
}

/* The cluster of every token for one K and seed (new, items x gh x gw int64 in *clusters). */
static df_status cluster_tokens(const tokens *t, long k, long seed, df_tensor **clusters) {
    const int64_t shape[2] = {(int64_t)(t->items * t->gh * t->gw), (int64_t)t->components};
    df_tensor *points = NULL;
    df_options *o = NULL;
    df_kmeans *kmeans = NULL;
    df_status status = df_tensor_borrow_host(t->projected, 2, shape, &points);
    if (status == DF_OK) status = cli_options_new(&o);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_KMEANS_K, k);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_KMEANS_INITS, 5);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_KMEANS_MAX_ITER, 100);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_KMEANS_SEED, seed);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_KMEANS_METRIC, DF_KMEANS_EUCLIDEAN);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_KMEANS_SAMPLE, KMEANS_POINTS_PER_CLUSTER * k);
    if (status == DF_OK) status = df_kmeans_fit(points, o, &kmeans);
    if (status == DF_OK) status = df_kmeans_predict(kmeans, points, clusters);
    df_kmeans_free(kmeans);
    df_options_free(o);
    df_tensor_free(points);
    return status;
}

/* The mIoU of one clustering: every image's cluster map against its labels at EVAL_SIDE. */
static df_status score_clusters(const tokens *t, long classes, long k, const int64_t *clusters, double *miou) {
    df_confusion *confusion = NULL;
    int32_t predicted[EVAL_SIDE * EVAL_SIDE], truth[EVAL_SIDE * EVAL_SIDE];
    df_status status = df_confusion_new((size_t)k, (size_t)classes, &confusion);
    for (size_t i = 0; status == DF_OK && i < t->items; i++) {
        const int64_t *map = clusters + i * t->gh * t->gw;
        const uint8_t *labels = t->labels + i * EVAL_SIDE * EVAL_SIDE;
        for (size_t y = 0; y < EVAL_SIDE; y++)
            for (size_t x = 0; x < EVAL_SIDE; x++) {
                predicted[y * EVAL_SIDE + x] =
                    (int32_t)map[torch_nearest_index(y, t->gh, EVAL_SIDE) * t->gw + torch_nearest_index(x, t->gw, EVAL_SIDE)];
                truth[y * EVAL_SIDE + x] = labels[y * EVAL_SIDE + x];
            }
        status = df_confusion_add(confusion, predicted, truth, EVAL_SIDE * EVAL_SIDE);
    }
    const df_match match = k == classes ? DF_MATCH_HUNGARIAN_IOU : DF_MATCH_MANY_TO_ONE;
    if (status == DF_OK) status = df_confusion_scores(confusion, match, miou, NULL, NULL, NULL);
    df_confusion_free(confusion);
    return status;
}

/* For each K, the mean mIoU over the seeds, each seed's said as it ends. */
static df_status run_clusterings(const clustering_request *r, const tokens *t, double *mean_miou) {
    df_status status = DF_OK;
    for (size_t j = 0; status == DF_OK && j < r->k_count; j++) {
        double sum = 0;
        for (long seed = 0; status == DF_OK && seed < SEEDS; seed++) {
            df_tensor *clusters = NULL;
            df_tensor_view view = {.struct_size = sizeof view};
            double miou = 0;
            status = cluster_tokens(t, r->k[j], seed, &clusters);
            if (status == DF_OK) status = df_tensor_view_of(clusters, &view);
            if (status == DF_OK) status = score_clusters(t, r->classes, r->k[j], view.data, &miou);
            if (status == DF_OK) fprintf(stderr, "K = %ld, seed %ld: mIoU %.1f\n", r->k[j], seed, 100 * miou);
            sum += miou;
            df_tensor_free(clusters);
        }
        mean_miou[j] = sum / SEEDS;
    }
    return status;
}

static void print_table(const clustering_request *r, const tokens *t, const double *miou) {
    printf("\n%s on %zu images (%zu x %zu tokens, %zu PCA components, mean of %d seeds); published: %s\n"
           "  %-10s %8s %10s\n", r->name, t->items, t->gh, t->gw, t->components, SEEDS, r->source, "mIoU", "ours",
           "published");
    for (size_t j = 0; j < r->k_count; j++) {
        char label[32];
        snprintf(label, sizeof label, "K=%ld", r->k[j]);
        isnan(r->published[j]) ? printf("  %-10s %8.1f %10s\n", label, 100 * miou[j], "-")
                               : printf("  %-10s %8.1f %10.1f\n", label, 100 * miou[j], r->published[j]);
    }
}

static int write_json(const clustering_request *r, const tokens *t, const double *miou) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (f == NULL) return cli_fail("paper", DF_E_OUT_OF_MEMORY);
    fprintf(f, "{\"protocol\": \"%s\", \"images\": %zu, \"k\": [", r->name, t->items);
    for (size_t j = 0; j < r->k_count; j++) fprintf(f, "%s%ld", j ? ", " : "", r->k[j]);
    fprintf(f, "], \"ours\": [");
    for (size_t j = 0; j < r->k_count; j++) fprintf(f, "%s%.9g", j ? ", " : "", 100 * miou[j]);
    fprintf(f, "], \"published\": [");
    for (size_t j = 0; j < r->k_count; j++)
        isnan(r->published[j]) ? fprintf(f, "%snull", j ? ", " : "") : fprintf(f, "%s%.1f", j ? ", " : "", r->published[j]);
    fprintf(f, "], \"source\": \"%s\"}\n", r->source);
    if (fclose(f) != 0) {
        free(text);
        return cli_fail("paper", DF_E_OUT_OF_MEMORY);
    }
    const int written = cli_write_file(r->json, text, size);
    free(text);
    if (written == 0) return EXIT_OK;
    fprintf(stderr, "dinofeat paper: %s: %s\n", r->json, strerror(errno));
    return EXIT_INPUT;
}

int paper_clustering(const clustering_request *r) {
    df_options *o = NULL;
    df_dataset *dataset = NULL;
    df_feature_cache *cache = NULL;
    tokens t = {0};
    double miou[CLUSTERING_MAX_K];
    char *cache_path = cli_suffixed(r->out, "/features.dffeat");
    df_status status = cache_path ? cli_options_new(&o) : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = cli_open_dataset(r->data, NULL, o, "paper", &dataset);
    if (status == DF_OK) status = cli_build_cache(r->model, dataset, cache_path, "paper");
    if (status == DF_OK) status = df_feature_cache_open(cache_path, &cache);
    if (status == DF_OK) status = prepare_tokens(cache, dataset, &t);
    int code = status == DF_OK ? EXIT_OK : cli_fail("paper", status);
    for (size_t j = 0; code == EXIT_OK && j < r->k_count; j++)
        if ((size_t)r->k[j] > t.items * t.gh * t.gw) {
            fprintf(stderr, "dinofeat paper: K = %ld exceeds the dataset's %zu tokens\n", r->k[j], t.items * t.gh * t.gw);
            code = EXIT_INPUT;
        }
    if (code == EXIT_OK && (status = run_clusterings(r, &t, miou)) != DF_OK) code = cli_fail("paper", status);
    if (code == EXIT_OK) print_table(r, &t, miou);
    if (code == EXIT_OK && r->json) code = write_json(r, &t, miou);
    if (code == EXIT_OK && r->json) printf("wrote %s\n", r->json);
    free(t.projected), free(t.labels);
    df_feature_cache_free(cache);
    df_dataset_free(dataset);
    df_options_free(o);
    free(cache_path);
    return code;
}
