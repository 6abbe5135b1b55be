/*
 * dinofeat feature caches: a dataset's backbone features computed once, stored in a file that
 * later steps read item by item instead of running the backbone again; and STEGO's KNN table over
 * them.
 */
#ifndef DINOFEAT_CACHE_H
#define DINOFEAT_CACHE_H

#include "dinofeat/core.h"
#include "dinofeat/dataset.h"
#include "dinofeat/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_feature_cache df_feature_cache;

/* Writes the final-norm patch features of every item of dataset (whose items must share one
 * size: dataset.size > 0) to path: a header saying the model, the dataset's items and sizes and
 * the element type, then each item's h x w x D features in item order. An existing file of the
 * same model, dataset and settings is completed from its last whole item (a run stopped at any
 * point resumes, bit for bit when DF_PARAM_CACHE_BATCH is the same: batches are always
 * [j B, (j + 1) B)); one made otherwise is DF_E_INVALID_ARG saying what differs. options:
 * DF_PARAM_CACHE_HALF (float16 storage), DF_PARAM_CACHE_BATCH. progress (may be NULL) is called
 * after each batch; returning non-zero stops with DF_E_CANCELLED, what was written kept. */
DF_API df_status df_feature_cache_build(df_model *model, const df_dataset *dataset, const char *path,
                                       const df_options *options, df_progress_fn progress, void *user_data);
/* out: new, free with df_feature_cache_free: the complete cache at path, read item by item
 * (nothing is loaded up front). DF_E_FORMAT for a foreign or incomplete file, DF_E_UNSUPPORTED
 * for a newer format. */
DF_API df_status df_feature_cache_open(const char *path, df_feature_cache **out);
/* Items, the feature grid (height x width) and D; each may be NULL. */
DF_API df_status df_feature_cache_shape(const df_feature_cache *cache, size_t *items, size_t *height, size_t *width,
                                        size_t *dim);
/* out gets item's height x width x D features as float32 (float16 caches converted). */
DF_API df_status df_feature_cache_read(const df_feature_cache *cache, size_t item, float *out);
/* DF_OK when model is the one the cache was computed with, else DF_E_INVALID_ARG saying how the
 * two differ. */
DF_API df_status df_feature_cache_check_model(const df_feature_cache *cache, df_model *model);
/* Does nothing when cache is NULL. */
DF_API void df_feature_cache_free(df_feature_cache *cache);

/* STEGO's KNN table: each item's features average-pooled and L2-normalised, cosine similarities
 * to every item in blocks of rows (memory bounded by the block, not the dataset), the k most
 * similar kept in descending order (the item itself first, as a rule). neighbours: items x k. */
DF_API df_status df_knn_table(const df_feature_cache *cache, size_t k, int32_t *neighbours);
/* Writes a table (items x k indices) atomically; reads one back: call with neighbours NULL to
 * learn items and k, then with room for items x k (capacity, in entries). DF_E_FORMAT for a
 * foreign or truncated file. */
DF_API df_status df_knn_save(const char *path, const int32_t *neighbours, size_t items, size_t k);
DF_API df_status df_knn_load(const char *path, int32_t *neighbours, size_t capacity, size_t *items, size_t *k);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_CACHE_H */
