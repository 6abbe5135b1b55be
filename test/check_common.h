/* Shared by the Check suites: fixture paths and small assertions. */
#ifndef DINOFEAT_CHECK_COMMON_H
#define DINOFEAT_CHECK_COMMON_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "dinofeat/dinofeat.h"

/* Tests run from test/, so fixtures are found relative to it. */
#define FIXTURE_DIR "fixtures/images/"

/* The call failed with status and its message starts with the function's name. */
#define ck_assert_fails_with(call, status, function)                                           \
    do {                                                                                       \
        df_status got_ = (call);                                                               \
        ck_assert_msg(got_ == (status), "%s returned %s, expected %s (%s)", #call,             \
                      df_status_str(got_), df_status_str(status), df_last_error_message());     \
        ck_assert_msg(strncmp(df_last_error_message(), function ": ", strlen(function) + 2) == 0, \
                      "message '%s' does not start with '%s: '", df_last_error_message(),       \
                      function);                                                               \
    } while (0)

#define ck_assert_ok(call)                                                                     \
    do {                                                                                       \
        df_status got_ = (call);                                                               \
        ck_assert_msg(got_ == DF_OK, "%s returned %s: %s", #call, df_status_str(got_),          \
                      df_last_error_message());                                                \
    } while (0)

/* Reads a whole fixture file (from FIXTURE_DIR, or from directory); the caller frees. NULL if
 * missing. */
unsigned char *read_fixture(const char *name, size_t *size);
unsigned char *read_fixture_from(const char *directory, const char *name, size_t *size);
/* The weak-supervision fixture PNG name (fixtures/weak/), palette indices when indices is 1. */
#define WEAK_DIR "fixtures/weak/"
df_image *load_weak_png(const char *name, int indices);
/* The model fixtures' input images (test/reference/model_inputs.py): pixel n of image i is
 * ((n * 7919 + i * 104729) % 2001) / 1000 - 1, exact in float32. A (b, 3, h, w) tensor. */
df_tensor *fixture_images(int b, int h, int w);

/* A float32 fixture file as a host tensor of shape (its size is checked). */
df_tensor *fixture_tensor(const char *directory, const char *name, const int64_t *shape, size_t ndim);
/* got equals the float32 fixture within tolerance relative to the fixture's largest magnitude. */
void assert_fixture_close(const df_tensor *got, const char *directory, const char *name, double tolerance);
/* Value index of a float64 fixture file. */
double fixture_double(const char *directory, const char *name, size_t index);

/* Tolerances in units of the precision involved, never measured on one machine:
 * F32_FORWARD_RTOL: two float32 computations of the same forward pass that differ only in the
 * order of their sums (batch composition, thread count, the BLAS kernel a CPU selects) agree to
 * this much of the output's largest magnitude (the conformance tolerance of DESIGN.md, about 84
 * float32 ulps). half_ulp(x): one float16 unit in the last place at |x|; a value rounded to
 * float16 from two such float32 results may land one unit apart at a rounding boundary. */
#define F32_FORWARD_RTOL 1e-5
/* Every test case's time limit: a guard against a hang, never a speed requirement (a loaded or
 * slow machine takes many times a quiet one's time). */
#define HANG_GUARD_SECONDS 1800
/* F32_BACKWARD_RTOL: a float32 gradient through a network, its backward rounding again at every
 * layer what the forward rounded (one order of magnitude over the forward's), relative to the
 * largest magnitude of the tensor. */
#define F32_BACKWARD_RTOL 1e-4
double half_ulp(double x);
/* got and want, float16 roundings of float32 results within F32_FORWARD_RTOL * scale of each
 * other, agree within one float16 ulp plus that error. */
int half_close(float got, float want, double scale);

/* A tiny test model from fixtures/models/ (2 heads, as the fixtures were made). */
df_model *open_tiny_model(const char *file);
/* The same on device ("cpu", "cuda:0"). */
df_model *open_tiny_model_on(const char *file, const char *device);
/* Removes a temporary directory and everything in it. */
void remove_tree(const char *directory);

Suite *core_suite(void);
Suite *trainer_pins_suite(void);
Suite *options_suite(void);
Suite *image_suite(void);
Suite *tensor_suite(void);
Suite *runtime_suite(void);
Suite *model_suite(void);
Suite *official_suite(void);
Suite *upsample_suite(void);
Suite *cluster_suite(void);
Suite *eval_suite(void);
Suite *regions_suite(void);
Suite *crf_suite(void);
Suite *weak_suite(void);
Suite *weak_live_suite(void);
Suite *datus_suite(void);
Suite *dataset_suite(void);
Suite *layouts_suite(void);
Suite *segment_suite(void);
Suite *retrieval_suite(void);
Suite *linear_probe_suite(void);
Suite *weak_deep_suite(void);
Suite *datus_crops_suite(void);
Suite *datus_run_suite(void);
Suite *cache_suite(void);
Suite *stego_suite(void);
Suite *sempart_suite(void);
Suite *neco_suite(void);
Suite *neco_train_suite(void);
Suite *distributed_suite(void);

#endif
