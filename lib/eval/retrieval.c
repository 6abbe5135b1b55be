/* Dense nearest-neighbour retrieval (specs/eval.md, the Hummingbird protocol NeCo reports): a
 * memory bank of normalised, labelled features, exact top-k by cosine, similarity-weighted votes.
 * A bank holds class labels until the first soft label (a distribution over the classes, as
 * Hummingbird's memory holds each patch's pixel-class fractions) arrives; from then on every
 * feature's label is a row of `soft`, the hard ones one-hot. */
#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/eval.h"
#include "retrieval_shim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct df_retrieval {
    size_t dim, classes, size, capacity, limit;
    float *features; /* capacity x dim */
    int32_t *labels;
    float *soft; /* capacity x classes once soft labels were added, else NULL */
    uint64_t seen, rng;
    int64_t k;
    double temperature;
};

df_status df_retrieval_new(size_t dim, size_t classes, const df_options *options, df_retrieval **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(dim > 0, "dim must be at least 1");
    DFI_CHECK_ARG(classes > 0 && classes < DF_IGNORE_LABEL, "classes must be in 1..254");
    df_retrieval *r = calloc(1, sizeof *r);
    if (r == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    r->dim = dim;
    r->classes = classes;
    r->limit = (size_t)dfi_option_int(options, DF_PARAM_RETRIEVAL_BANK);
    r->rng = (uint64_t)dfi_option_int(options, DF_PARAM_RETRIEVAL_SEED);
    r->k = dfi_option_int(options, DF_PARAM_RETRIEVAL_K);
    r->temperature = dfi_option_float(options, DF_PARAM_RETRIEVAL_TEMPERATURE);
    *out = r;
    return DF_OK;
}

void df_retrieval_free(df_retrieval *r) {
    if (r == NULL) return;
    free(r->features);
    free(r->labels);
    free(r->soft);
    free(r);
}

static df_status reserve(df_retrieval *r, size_t more) {
    size_t wanted = r->size + more;
    if (r->limit && wanted > r->limit) wanted = r->limit;
    if (wanted <= r->capacity) return DF_OK;
    size_t capacity = r->capacity ? r->capacity : 1024;
    while (capacity < wanted) capacity *= 2;
    if (r->limit && capacity > r->limit) capacity = r->limit;
    size_t bytes;
    if (dfi_mul_size(capacity, r->dim * sizeof(float), &bytes) != 0) return dfi_error(DF_E_LIMIT, "bank too large");
    float *features = realloc(r->features, bytes);
    if (features == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a bank of %zu features", capacity);
    r->features = features;
    int32_t *labels = realloc(r->labels, capacity * sizeof *labels);
    if (labels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a bank of %zu features", capacity);
    r->labels = labels;
    if (r->soft) {
        float *soft = realloc(r->soft, capacity * r->classes * sizeof *soft);
        if (soft == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a bank of %zu features", capacity);
        r->soft = soft;
    }
    r->capacity = capacity;
    return DF_OK;
}

/* Feature and label into slot: a class label (distribution NULL) or a distribution. */
static void store(df_retrieval *r, size_t slot, const float *feature, int32_t label, const float *distribution) {
    float *target = r->features + slot * r->dim;
    memcpy(target, feature, r->dim * sizeof *target);
    dfi_normalise_rows(target, 1, r->dim);
    r->labels[slot] = label;
    if (r->soft == NULL) return;
    float *row = r->soft + slot * r->classes;
    if (distribution) memcpy(row, distribution, r->classes * sizeof *row);
    else
        for (size_t c = 0; c < r->classes; c++) row[c] = (size_t)label == c ? 1.0f : 0.0f;
}

/* The bank turned soft: every stored class label becomes a one-hot row. */
static df_status make_soft(df_retrieval *r) {
    if (r->soft) return DF_OK;
    size_t bytes;
    if (dfi_mul_size(r->capacity ? r->capacity : 1, r->classes * sizeof(float), &bytes) != 0)
        return dfi_error(DF_E_LIMIT, "bank too large");
    r->soft = calloc(1, bytes);
    if (r->soft == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for the bank's soft labels");
    for (size_t i = 0; i < r->size; i++) r->soft[i * r->classes + (size_t)r->labels[i]] = 1.0f;
    return DF_OK;
}

/* Adds count features (labels or distributions, the other NULL), reservoir-sampled past the limit. */
static void add_features(df_retrieval *r, const float *features, const int32_t *labels, const float *distributions,
                         size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (labels && labels[i] == DF_IGNORE_LABEL) continue;
        const int32_t label = labels ? labels[i] : 0;
        const float *distribution = distributions ? distributions + i * r->classes : NULL;
        r->seen++;
        if (!r->limit || r->size < r->limit) {
            store(r, r->size++, features + i * r->dim, label, distribution);
        } else { /* Algorithm R: keep the new feature with probability limit / seen */
            uint64_t slot = dfi_splitmix64(&r->rng) % r->seen;
            if (slot < r->limit) store(r, (size_t)slot, features + i * r->dim, label, distribution);
        }
    }
}

df_status df_retrieval_add(df_retrieval *r, const float *features, const int32_t *labels, size_t count) {
    DFI_CHECK_NOT_NULL(r);
    DFI_CHECK_ARG(count == 0 || (features != NULL && labels != NULL), "features or labels is NULL");
    for (size_t i = 0; i < count; i++)
        if (labels[i] != DF_IGNORE_LABEL && (labels[i] < 0 || (size_t)labels[i] >= r->classes))
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "label %d of feature %zu is outside 0..%zu", labels[i], i,
                                 r->classes - 1));
    df_status status = reserve(r, count);
    if (status != DF_OK) DFI_RETURN(status);
    add_features(r, features, labels, NULL, count);
    return DF_OK;
}

df_status df_retrieval_add_soft(df_retrieval *r, const float *features, const float *distributions, size_t count) {
    DFI_CHECK_NOT_NULL(r);
    DFI_CHECK_ARG(count == 0 || (features != NULL && distributions != NULL), "features or distributions is NULL");
    for (size_t i = 0; i < count * r->classes; i++)
        if (!(distributions[i] >= 0) || isinf(distributions[i]))
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "label weight %g of feature %zu, class %zu is not a finite value >= 0",
                                 (double)distributions[i], i / r->classes, i % r->classes));
    df_status status = make_soft(r);
    if (status == DF_OK) status = reserve(r, count);
    if (status != DF_OK) DFI_RETURN(status);
    add_features(r, features, NULL, distributions, count);
    return DF_OK;
}

df_status df_retrieval_size(const df_retrieval *r, size_t *out) {
    DFI_CHECK_NOT_NULL(r);
    DFI_CHECK_NOT_NULL(out);
    *out = r->size;
    return DF_OK;
}

/* The votes of one query from its neighbours' similarities and labels. */
static void vote(const df_retrieval *r, const float *similarity, const int64_t *index, float *scores) {
    const size_t k = (size_t)r->k;
    for (size_t c = 0; c < r->classes; c++) scores[c] = 0;
    double top = similarity[0], total = 0;
    for (size_t j = 0; j < k && r->temperature > 0; j++) total += exp((similarity[j] - top) / r->temperature);
    for (size_t j = 0; j < k; j++) {
        double weight = r->temperature > 0 ? exp((similarity[j] - top) / r->temperature) / total : similarity[j];
        if (r->soft == NULL) {
            scores[r->labels[index[j]]] += (float)weight;
            continue;
        }
        const float *row = r->soft + (size_t)index[j] * r->classes;
        for (size_t c = 0; c < r->classes; c++) scores[c] += (float)weight * row[c];
    }
}

static df_status predict(const df_retrieval *r, const float *queries, size_t count, int32_t *labels, float *scores) {
    const size_t k = (size_t)r->k;
    float *normalised = malloc(count * r->dim * sizeof *normalised), *similarity = malloc(count * k * sizeof *similarity);
    float *votes = malloc(r->classes * sizeof *votes);
    int64_t *index = malloc(count * k * sizeof *index);
    df_tensor *bank = NULL, *query = NULL;
    df_status status = normalised && similarity && votes && index ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) {
        memcpy(normalised, queries, count * r->dim * sizeof *normalised);
        dfi_normalise_rows(normalised, count, r->dim);
    }
    int64_t bank_shape[2] = {(int64_t)r->size, (int64_t)r->dim}, query_shape[2] = {(int64_t)count, (int64_t)r->dim};
    if (status == DF_OK) status = df_tensor_borrow_host(r->features, 2, bank_shape, &bank);
    if (status == DF_OK) status = df_tensor_borrow_host(normalised, 2, query_shape, &query);
    if (status == DF_OK) {
        status = dfs_top_k_dot(dfi_tensor_desc(bank), dfi_tensor_desc(query), (int64_t)k, index, similarity);
        if (status != DF_OK) status = dfi_error(status, "%s", dfs_last_error());
    }
    for (size_t i = 0; status == DF_OK && i < count; i++) {
        vote(r, similarity + i * k, index + i * k, votes);
        if (scores) memcpy(scores + i * r->classes, votes, r->classes * sizeof *votes);
        size_t best = 0;
        for (size_t c = 1; c < r->classes; c++)
            if (votes[c] > votes[best]) best = c;
        if (labels) labels[i] = (int32_t)best;
    }
    df_tensor_free(bank);
    df_tensor_free(query);
    free(normalised);
    free(similarity);
    free(votes);
    free(index);
    return status;
}

df_status df_retrieval_predict(const df_retrieval *r, const float *queries, size_t count, int32_t *labels,
                               float *scores) {
    DFI_CHECK_NOT_NULL(r);
    DFI_CHECK_ARG(count == 0 || queries != NULL, "queries is NULL");
    if (r->size < (size_t)r->k)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the bank holds %zu features, fewer than k = %lld", r->size,
                             (long long)r->k));
    if (count == 0) return DF_OK;
    DFI_RETURN(predict(r, queries, count, labels, scores));
}
