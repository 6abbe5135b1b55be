/* Random forest of CART trees (Breiman 2001) as scikit-learn's RandomForestClassifier grows them
 * with class_weight='balanced': a uniform bootstrap per tree, samples weighted inversely to their
 * class's frequency, weighted Gini impurity, max_features random features tried per node, trees
 * grown until pure (or max_depth), leaves holding class distributions; predictions average them.
 * Trees grow in parallel, each from its own seeded generator, so results do not depend on the
 * number of threads. */
#include "weak_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    int32_t feature; /* -1 for a leaf */
    float threshold; /* go left when x[feature] <= threshold */
    int32_t left, right;
    int32_t value;   /* leaf: offset of its class distribution in the tree's values */
} node;

typedef struct tree {
    node *nodes;
    float *values;
    size_t count, capacity, value_count, value_capacity;
} tree;

struct df_forest {
    size_t features, classes, trees;
    tree *forest;
};

typedef struct builder {
    const float *x;
    const int32_t *y;
    const double *weight; /* per sample: class weight x bootstrap count */
    size_t features, classes, max_features;
    int64_t max_depth;
    uint64_t rng;
    tree *t;
    /* scratch */
    struct keyed *pairs;
    int32_t *best_order; /* the node's samples sorted by the best feature so far */
    double *left_counts, *right_counts;
} builder;

static int32_t add_node(tree *t) {
    if (t->count == t->capacity) {
        size_t capacity = t->capacity ? 2 * t->capacity : 64;
        node *grown = realloc(t->nodes, capacity * sizeof *grown);
        if (grown == NULL) return -1;
        t->nodes = grown, t->capacity = capacity;
    }
    return (int32_t)t->count++;
}

static int32_t add_leaf_values(tree *t, const double *counts, size_t classes) {
    if (t->value_count + classes > t->value_capacity) {
        size_t capacity = t->value_capacity ? 2 * t->value_capacity : 64 * classes;
        while (capacity < t->value_count + classes) capacity *= 2;
        float *grown = realloc(t->values, capacity * sizeof *grown);
        if (grown == NULL) return -1;
        t->values = grown, t->value_capacity = capacity;
    }
    double total = 0;
    for (size_t c = 0; c < classes; c++) total += counts[c];
    int32_t offset = (int32_t)t->value_count;
    for (size_t c = 0; c < classes; c++) t->values[t->value_count++] = (float)(total > 0 ? counts[c] / total : 0);
    return offset;
}

static double gini(const double *counts, size_t classes, double total) {
    if (total <= 0) return 0;
    double sum = 0;
    for (size_t c = 0; c < classes; c++) sum += (counts[c] / total) * (counts[c] / total);
    return 1 - sum;
}

typedef struct keyed {
    float key;
    int32_t sample;
} keyed;

static int by_key(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
    return (x->sample > y->sample) - (x->sample < y->sample); /* a total order: deterministic */
}

/* The samples order[0 .. n) sorted by feature f. */
static void sort_by_feature(builder *b, int32_t *order, size_t n, size_t f) {
    for (size_t i = 0; i < n; i++) b->pairs[i] = (keyed){b->x[(size_t)order[i] * b->features + f], order[i]};
    qsort(b->pairs, n, sizeof *b->pairs, by_key);
    for (size_t i = 0; i < n; i++) order[i] = b->pairs[i].sample;
}

typedef struct split {
    int32_t feature;
    float threshold;
    double impurity; /* weighted sum of the children's impurities */
    size_t left;     /* samples going left, after sorting by the feature */
} split;

/* The best threshold on feature f for samples order[0 .. n) with class totals. */
static void best_threshold(builder *b, int32_t *order, size_t n, size_t f, const double *totals, double total,
                           split *best) {
    sort_by_feature(b, order, n, f);
    double *left = b->left_counts, *right = b->right_counts;
    memset(left, 0, b->classes * sizeof *left);
    memcpy(right, totals, b->classes * sizeof *right);
    double left_total = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        const int32_t s = order[i];
        const double w = b->weight[s];
        left[b->y[s]] += w, right[b->y[s]] -= w, left_total += w;
        const float here = b->x[(size_t)s * b->features + f], next = b->x[(size_t)order[i + 1] * b->features + f];
        if (next <= here) continue; /* split only between distinct values */
        const double right_total = total - left_total;
        const double impurity = left_total * gini(left, b->classes, left_total) +
                                right_total * gini(right, b->classes, right_total);
        if (impurity < best->impurity) {
            float threshold = here + (next - here) / 2;
            if (threshold >= next || threshold < here) threshold = here; /* rounding at adjacent floats */
            best->feature = (int32_t)f, best->threshold = threshold, best->impurity = impurity, best->left = i + 1;
        }
    }
}

/* Grows the subtree of samples order[0 .. n); returns its node index or -1 when out of memory. */
static int32_t grow(builder *b, int32_t *order, size_t n, int64_t depth) {
    double *totals = calloc(b->classes, sizeof *totals);
    if (totals == NULL) return -1;
    double total = 0;
    for (size_t i = 0; i < n; i++) totals[b->y[order[i]]] += b->weight[order[i]], total += b->weight[order[i]];
    const double impurity = gini(totals, b->classes, total);
    split best = {.feature = -1, .impurity = impurity * total};
    if (impurity > 0 && n >= 2 && (b->max_depth <= 0 || depth < b->max_depth)) {
        /* max_features distinct random features; like scikit-learn, keep drawing while the ones
         * drawn give no split, until every feature has been tried */
        size_t *candidates = malloc(b->features * sizeof *candidates);
        if (candidates == NULL) {
            free(totals);
            return -1;
        }
        for (size_t f = 0; f < b->features; f++) candidates[f] = f;
        size_t tried = 0;
        for (size_t left = b->features; left > 0 && (tried < b->max_features || best.feature < 0); left--) {
            size_t pick = (size_t)(dfi_splitmix64(&b->rng) % left);
            size_t f = candidates[pick];
            candidates[pick] = candidates[left - 1];
            const int32_t before = best.feature;
            best_threshold(b, order, n, f, totals, total, &best);
            if (best.feature != before) memcpy(b->best_order, order, n * sizeof *order);
            tried++;
        }
        free(candidates);
    }
    int32_t id = add_node(b->t);
    if (id < 0 || best.feature < 0) {
        if (id >= 0) {
            int32_t value = add_leaf_values(b->t, totals, b->classes);
            b->t->nodes[id] = (node){.feature = -1, .value = value, .left = -1, .right = -1};
            if (value < 0) id = -1;
        }
        free(totals);
        return id;
    }
    free(totals);
    memcpy(order, b->best_order, n * sizeof *order);
    size_t split_at = 0; /* sorted: the samples <= threshold come first */
    while (split_at < n && b->x[(size_t)order[split_at] * b->features + (size_t)best.feature] <= best.threshold)
        split_at++;
    int32_t left = grow(b, order, split_at, depth + 1);
    int32_t right = left < 0 ? -1 : grow(b, order + split_at, n - split_at, depth + 1);
    if (right < 0) return -1;
    b->t->nodes[id] = (node){.feature = best.feature, .threshold = best.threshold, .left = left, .right = right};
    return id;
}

/* One tree on a bootstrap sample drawn with its own generator. */
static int grow_tree(const float *x, const int32_t *y, const double *class_weight, size_t n, size_t features,
                     size_t classes, size_t max_features, int64_t max_depth, uint64_t seed, tree *t) {
    builder b = {.x = x, .y = y, .features = features, .classes = classes, .max_features = max_features,
                 .max_depth = max_depth, .rng = seed, .t = t};
    double *weight = calloc(n, sizeof *weight);
    int32_t *order = malloc(n * sizeof *order);
    b.pairs = malloc(n * sizeof *b.pairs);
    b.best_order = malloc(n * sizeof *b.best_order);
    b.left_counts = malloc(classes * sizeof *b.left_counts);
    b.right_counts = malloc(classes * sizeof *b.right_counts);
    int failed = weight == NULL || order == NULL || b.pairs == NULL || b.best_order == NULL || b.left_counts == NULL ||
                 b.right_counts == NULL;
    size_t m = 0;
    if (!failed) {
        for (size_t i = 0; i < n; i++) weight[dfi_splitmix64(&b.rng) % n] += 1;
        for (size_t i = 0; i < n; i++)
            if (weight[i] > 0) weight[i] *= class_weight[y[i]], order[m++] = (int32_t)i;
        b.weight = weight;
        failed = grow(&b, order, m, 0) < 0;
    }
    free(weight);
    free(order);
    free(b.pairs);
    free(b.best_order);
    free(b.left_counts);
    free(b.right_counts);
    return failed ? -1 : 0;
}

void df_forest_free(df_forest *forest) {
    if (forest == NULL) return;
    for (size_t i = 0; forest->forest && i < forest->trees; i++) free(forest->forest[i].nodes), free(forest->forest[i].values);
    free(forest->forest);
    free(forest);
}

static df_status train(const float *x, const int32_t *y, size_t n, size_t features, size_t classes,
                       const df_options *options, df_forest **out) {
    double *class_weight = calloc(classes, sizeof *class_weight);
    df_forest *forest = calloc(1, sizeof *forest);
    const size_t trees = (size_t)dfi_option_int(options, DF_PARAM_FOREST_TREES);
    if (forest) forest->forest = calloc(trees, sizeof *forest->forest);
    if (class_weight == NULL || forest == NULL || forest->forest == NULL) {
        free(class_weight);
        df_forest_free(forest);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    forest->features = features, forest->classes = classes, forest->trees = trees;
    /* balanced: n / (classes present x count), as scikit-learn's compute_class_weight */
    size_t present = 0;
    for (size_t i = 0; i < n; i++) class_weight[y[i]] += 1;
    for (size_t c = 0; c < classes; c++) present += class_weight[c] > 0;
    for (size_t c = 0; c < classes; c++)
        class_weight[c] = class_weight[c] > 0 ? (double)n / ((double)present * class_weight[c]) : 0;
    const size_t max_features = (size_t)dfi_option_int(options, DF_PARAM_FOREST_MAX_FEATURES);
    const int64_t max_depth = dfi_option_int(options, DF_PARAM_FOREST_MAX_DEPTH);
    const uint64_t seed = (uint64_t)dfi_option_int(options, DF_PARAM_FOREST_SEED);
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < trees; i++) {
        uint64_t state = seed ^ (0xD1B54A32D192ED03ull * (i + 1));
        if (grow_tree(x, y, class_weight, n, features, classes, max_features < features ? max_features : features,
                      max_depth, dfi_splitmix64(&state), &forest->forest[i]) != 0) {
#pragma omp atomic write
            failed = 1;
        }
    }
    free(class_weight);
    if (failed) {
        df_forest_free(forest);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory growing the trees");
    }
    *out = forest;
    return DF_OK;
}

df_status df_forest_train(const float *x, const int32_t *y, size_t n, size_t features, size_t classes,
                          const df_options *options, df_forest **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(x);
    DFI_CHECK_NOT_NULL(y);
    DFI_CHECK_ARG(n > 0 && features > 0 && classes > 0, "n, features and classes must be at least 1");
    DFI_CHECK_ARG(n <= INT32_MAX, "at most 2^31 - 1 samples");
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= classes)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "label %d of sample %zu is outside 0..%zu", y[i], i, classes - 1));
    for (size_t i = 0; i < n * features; i++)
        if (!isfinite(x[i])) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "feature value %zu is not finite", i));
    DFI_RETURN(train(x, y, n, features, classes, options, out));
}

/* Blocks of samples walk one tree after another, so each tree's nodes stay in cache and the
 * branch predictor learns the tree's paths before it moves on: long blocks pay (64k samples ran
 * 15% faster than 2k on an AMD EPYC), as long as every thread gets a few of them. */
#define PREDICT_BLOCK_MIN 2048
#define PREDICT_BLOCK_MAX 65536

static size_t predict_block(size_t n) {
    const size_t share = n / (4 * (size_t)omp_get_max_threads());
    return share < PREDICT_BLOCK_MIN ? PREDICT_BLOCK_MIN : share > PREDICT_BLOCK_MAX ? PREDICT_BLOCK_MAX : share;
}

df_status df_forest_predict(const df_forest *forest, const float *x, size_t n, float *probabilities) {
    DFI_CHECK_NOT_NULL(forest);
    DFI_CHECK_ARG(n == 0 || (x != NULL && probabilities != NULL), "x or probabilities is NULL");
    const size_t classes = forest->classes, block_size = predict_block(n), blocks = (n + block_size - 1) / block_size;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t block = 0; block < blocks; block++) {
        const size_t first = block * block_size, last = first + block_size < n ? first + block_size : n;
        for (size_t i = first * classes; i < last * classes; i++) probabilities[i] = 0;
        for (size_t k = 0; k < forest->trees; k++) {
            const tree *t = &forest->forest[k];
            for (size_t i = first; i < last; i++) {
                const float *xi = x + i * forest->features;
                int32_t at = 0;
                while (t->nodes[at].feature >= 0)
                    at = xi[t->nodes[at].feature] <= t->nodes[at].threshold ? t->nodes[at].left : t->nodes[at].right;
                const float *v = t->values + t->nodes[at].value;
                float *p = probabilities + i * classes;
                for (size_t c = 0; c < classes; c++) p[c] += v[c];
            }
        }
        for (size_t i = first * classes; i < last * classes; i++) probabilities[i] /= (float)forest->trees;
    }
    return DF_OK;
}

/* Storage: u32 trees; per tree u32 nodes, u32 values, then per node i32 feature, f32 threshold,
 * i32 left, i32 right, i32 value, then the f32 values. Little-endian, as every supported host. */
int dfi_forest_write(const df_forest *forest, FILE *file) {
    uint32_t trees = (uint32_t)forest->trees;
    if (fwrite(&trees, 4, 1, file) != 1) return -1;
    for (size_t k = 0; k < forest->trees; k++) {
        const tree *t = &forest->forest[k];
        uint32_t counts[2] = {(uint32_t)t->count, (uint32_t)t->value_count};
        if (fwrite(counts, 4, 2, file) != 2) return -1;
        for (size_t i = 0; i < t->count; i++) {
            const node *n = &t->nodes[i];
            int32_t fields[5] = {n->feature, 0, n->left, n->right, n->value};
            memcpy(&fields[1], &n->threshold, 4);
            if (fwrite(fields, 4, 5, file) != 5) return -1;
        }
        if (t->value_count && fwrite(t->values, 4, t->value_count, file) != t->value_count) return -1;
    }
    return 0;
}

static df_status read_tree(const unsigned char *data, size_t size, size_t *at, size_t features, size_t classes,
                           tree *t) {
    uint32_t counts[2];
    if (size - *at < 8) return dfi_error(DF_E_FORMAT, "truncated classifier file");
    memcpy(counts, data + *at, 8);
    *at += 8;
    if (counts[0] == 0 || counts[0] > (size - *at) / 20 || counts[1] > (size - *at - (size_t)counts[0] * 20) / 4)
        return dfi_error(DF_E_FORMAT, "truncated classifier file (a tree claims %u nodes)", counts[0]);
    t->count = t->capacity = counts[0];
    t->value_count = t->value_capacity = counts[1];
    t->nodes = malloc(t->count * sizeof *t->nodes);
    t->values = malloc((t->value_count ? t->value_count : 1) * sizeof *t->values);
    if (t->nodes == NULL || t->values == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < t->count; i++, *at += 20) {
        int32_t fields[5];
        memcpy(fields, data + *at, 20);
        node *n = &t->nodes[i];
        n->feature = fields[0], n->left = fields[2], n->right = fields[3], n->value = fields[4];
        memcpy(&n->threshold, &fields[1], 4);
        /* children come after their parent, so every path ends in a leaf */
        int leaf_ok = n->feature == -1 && n->value >= 0 && (size_t)n->value + classes <= t->value_count;
        int split_ok = n->feature >= 0 && (size_t)n->feature < features && n->left > (int32_t)i &&
                       n->right > (int32_t)i && (size_t)n->left < t->count && (size_t)n->right < t->count;
        if (!leaf_ok && !split_ok) return dfi_error(DF_E_FORMAT, "classifier file: node %zu of a tree is malformed", i);
    }
    memcpy(t->values, data + *at, t->value_count * 4);
    *at += t->value_count * 4;
    return DF_OK;
}

df_status dfi_forest_read(const unsigned char *data, size_t size, size_t features, size_t classes, df_forest **out,
                          size_t *used) {
    *out = NULL;
    uint32_t trees;
    if (size < 4) return dfi_error(DF_E_FORMAT, "truncated classifier file");
    memcpy(&trees, data, 4);
    if (trees == 0 || trees > size / 28)
        return dfi_error(DF_E_FORMAT, "truncated or corrupt: %u trees do not fit in %zu bytes", trees, size);
    df_forest *forest = calloc(1, sizeof *forest);
    if (forest) forest->forest = calloc(trees, sizeof *forest->forest);
    if (forest == NULL || forest->forest == NULL) {
        df_forest_free(forest);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    forest->features = features, forest->classes = classes, forest->trees = trees;
    size_t at = 4;
    df_status status = DF_OK;
    for (size_t k = 0; k < trees && status == DF_OK; k++) status = read_tree(data, size, &at, features, classes, &forest->forest[k]);
    if (status != DF_OK) {
        df_forest_free(forest);
        return status;
    }
    *out = forest;
    *used = at;
    return DF_OK;
}
