/* Runs every suite. Suites that never start libtorch fork per test (isolation, timeouts);
 * those that do run without forking, because a fork after libtorch started its thread pools can
 * hang. They run last, so no fork ever follows them. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

unsigned char *read_fixture(const char *name, size_t *size) { return read_fixture_from(FIXTURE_DIR, name, size); }

unsigned char *read_fixture_from(const char *directory, const char *name, size_t *size) {
    char path[512];
    snprintf(path, sizeof path, "%s%s", directory, name);
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc(length > 0 ? (size_t)length : 1);
    if (data != NULL && fread(data, 1, (size_t)length, file) != (size_t)length) {
        free(data);
        data = NULL;
    }
    fclose(file);
    *size = (size_t)length;
    return data;
}

df_image *load_weak_png(const char *name, int indices) {
    df_options *o;
    df_image *image = NULL;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_IMAGE_PALETTE_INDICES, indices));
    char path[256];
    snprintf(path, sizeof path, WEAK_DIR "%s", name);
    ck_assert_ok(df_image_load(path, o, &image));
    df_options_free(o);
    return image;
}

df_tensor *fixture_tensor(const char *directory, const char *name, const int64_t *shape, size_t ndim) {
    size_t size, count = 1;
    float *data = (float *)read_fixture_from(directory, name, &size);
    ck_assert_msg(data != NULL, "missing fixture %s%s", directory, name);
    for (size_t i = 0; i < ndim; i++) count *= (size_t)shape[i];
    ck_assert_uint_eq(size, count * sizeof(float));
    df_tensor *t;
    ck_assert_ok(df_tensor_from_host(data, ndim, shape, &t));
    free(data);
    return t;
}

void assert_fixture_close(const df_tensor *got, const char *directory, const char *name, double tolerance) {
    size_t size;
    float *want = (float *)read_fixture_from(directory, name, &size);
    ck_assert_msg(want != NULL, "missing fixture %s%s", directory, name);
    const size_t n = size / sizeof(float);
    ck_assert_int_eq(df_tensor_numel(got), (int64_t)n);
    float *have = malloc(n * sizeof *have);
    ck_assert_ok(df_tensor_copy_to_host(got, have, n));
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)have[i] - want[i]));
    ck_assert_msg(worst <= tolerance * fmax(scale, 1e-12), "%s: largest difference %g of scale %g", name, worst, scale);
    free(have), free(want);
}

double fixture_double(const char *directory, const char *name, size_t index) {
    size_t size;
    double *values = (double *)read_fixture_from(directory, name, &size);
    ck_assert_msg(values != NULL && size >= (index + 1) * sizeof(double), "missing fixture %s%s", directory, name);
    const double v = values[index];
    free(values);
    return v;
}

double half_ulp(double x) {
    const double magnitude = fabs(x);
    if (magnitude < ldexp(1, -14)) return ldexp(1, -24); /* subnormal halves are evenly spaced */
    int exponent;
    frexp(magnitude, &exponent); /* magnitude in [2^(exponent-1), 2^exponent) */
    return ldexp(1, exponent - 1 - 10);
}

int half_close(float got, float want, double scale) {
    const double larger = fmax(fabs((double)got), fabs((double)want));
    return fabs((double)got - (double)want) <= half_ulp(larger) + F32_FORWARD_RTOL * scale;
}

df_tensor *fixture_images(int b, int h, int w) {
    const size_t per_image = (size_t)3 * h * w;
    float *data = malloc(per_image * b * sizeof *data);
    for (int i = 0; i < b; i++)
        for (size_t n = 0; n < per_image; n++)
            data[i * per_image + n] = (float)(((int64_t)n * 7919 + (int64_t)i * 104729) % 2001) / 1000.0f - 1.0f;
    const int64_t shape[4] = {b, 3, h, w};
    df_tensor *tensor = NULL;
    ck_assert_ok(df_tensor_from_host(data, 4, shape, &tensor));
    free(data);
    return tensor;
}

df_model *open_tiny_model(const char *file) { return open_tiny_model_on(file, "cpu"); }

df_model *open_tiny_model_on(const char *file, const char *device) {
    df_options *o;
    df_model *model;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, 2));
    char path[256];
    snprintf(path, sizeof path, "fixtures/models/%s", file);
    ck_assert_ok(df_model_open(path, device, o, &model));
    df_options_free(o);
    return model;
}

void remove_tree(const char *directory) {
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    ck_assert_int_eq(system(command), 0);
}

int main(void) {
    SRunner *forking = srunner_create(core_suite());
    srunner_add_suite(forking, options_suite());
    srunner_add_suite(forking, image_suite());
    srunner_add_suite(forking, eval_suite());
    srunner_add_suite(forking, regions_suite());
    srunner_add_suite(forking, crf_suite());
    srunner_add_suite(forking, weak_suite());
    srunner_add_suite(forking, weak_live_suite());
    srunner_add_suite(forking, datus_suite());
    srunner_add_suite(forking, dataset_suite());
    srunner_add_suite(forking, layouts_suite());
    srunner_add_suite(forking, distributed_suite());
    srunner_run_all(forking, CK_NORMAL);
    int failed = srunner_ntests_failed(forking);
    srunner_free(forking);

    SRunner *torch = srunner_create(tensor_suite());
    srunner_add_suite(torch, runtime_suite());
    srunner_add_suite(torch, model_suite());
    srunner_add_suite(torch, official_suite());
    srunner_add_suite(torch, upsample_suite());
    srunner_add_suite(torch, cluster_suite());
    srunner_add_suite(torch, segment_suite());
    srunner_add_suite(torch, retrieval_suite());
    srunner_add_suite(torch, linear_probe_suite());
    srunner_add_suite(torch, weak_deep_suite());
    srunner_add_suite(torch, datus_crops_suite());
    srunner_add_suite(torch, datus_run_suite());
    srunner_add_suite(torch, cache_suite());
    srunner_add_suite(torch, stego_suite());
    srunner_add_suite(torch, sempart_suite());
    srunner_add_suite(torch, neco_suite());
    srunner_add_suite(torch, neco_train_suite());
    srunner_add_suite(torch, trainer_pins_suite());
    srunner_set_fork_status(torch, CK_NOFORK);
    srunner_run_all(torch, CK_NORMAL);
    failed += srunner_ntests_failed(torch);
    srunner_free(torch);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
