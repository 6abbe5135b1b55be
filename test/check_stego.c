/* STEGO's correspondence loss against the plain-PyTorch reference written as the official code
 * (test/reference/stego_reference.py): every switch, its gradients, and the three-term total. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define STEGO_DIR "fixtures/stego/"

static df_tensor *load_tensor(const char *id, const char *name, const int64_t *shape, size_t ndim) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.f32", id, name);
    return fixture_tensor(STEGO_DIR, file, shape, ndim);
}

/* got equals the fixture id.name within 1e-5 relative (of the largest entry) */
static void assert_matches(const df_tensor *got, const char *id, const char *name) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.f32", id, name);
    assert_fixture_close(got, STEGO_DIR, file, 1e-5);
}

static double read_double(const char *id, const char *name, size_t index) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.f64", id, name);
    return fixture_double(STEGO_DIR, file, index);
}

START_TEST(test_stego_pair_loss_matches_reference) {
    FILE *f = fopen(STEGO_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[256], id[32];
    unsigned flags;
    double shift;
    long long b, d, k, h, w, p;
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "pair %31s %u %lf %lld %lld %lld %lld %lld %lld", id, &flags, &shift, &b, &d, &k, &h, &w, &p) != 9)
            continue;
        const int64_t fs[4] = {b, d, h, w}, ss[4] = {b, k, h, w}, cs[4] = {b, p, p, 2};
        df_tensor *f1 = load_tensor(id, "f1", fs, 4), *f2 = load_tensor(id, "f2", fs, 4),
                  *s1 = load_tensor(id, "s1", ss, 4), *s2 = load_tensor(id, "s2", ss, 4),
                  *c1 = load_tensor(id, "c1", cs, 4), *c2 = load_tensor(id, "c2", cs, 4), *g1, *g2;
        double loss;
        ck_assert_ok(df_stego_corr_loss(f1, f2, s1, s2, c1, c2, shift, flags, &loss, &g1, &g2));
        const double want = read_double(id, "loss", 0);
        ck_assert_msg(fabs(loss - want) <= 1e-5 * fabs(want) + 1e-7, "%s: loss %.9g, reference %.9g", id, loss, want);
        assert_matches(g1, id, "grad_s1");
        assert_matches(g2, id, "grad_s2");
        double again;
        ck_assert_ok(df_stego_corr_loss(f1, f2, s1, s2, c1, c2, shift, flags, &again, NULL, NULL));
        ck_assert_double_eq(loss, again);
        df_tensor_free(g1), df_tensor_free(g2);
        df_tensor_free(f1), df_tensor_free(f2), df_tensor_free(s1), df_tensor_free(s2), df_tensor_free(c1),
            df_tensor_free(c2);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 9);
}
END_TEST

static df_tensor *load_perms(const char *id, long long n, long long b) {
    char file[128];
    snprintf(file, sizeof file, "%s.perms.i64", id);
    size_t size;
    int64_t *data = (int64_t *)read_fixture_from(STEGO_DIR, file, &size);
    ck_assert_uint_eq(size, (size_t)(n * b) * sizeof(int64_t));
    const int64_t shape[2] = {n, b};
    df_tensor *t;
    ck_assert_ok(df_tensor_new(2, shape, DF_DTYPE_INT64, NULL, &t));
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_view_of(t, &view));
    memcpy((void *)view.data, data, size);
    free(data);
    return t;
}

START_TEST(test_stego_total_matches_reference) {
    FILE *f = fopen(STEGO_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[256], id[32];
    int preset, cases = 0;
    long long b, d, k, h, w, p, n;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "total %31s %d %lld %lld %lld %lld %lld %lld %lld", id, &preset, &b, &d, &k, &h, &w, &p, &n) != 9)
            continue;
        const int64_t fs[4] = {b, d, h, w}, ss[4] = {b, k, h, w}, cs[4] = {b, p, p, 2};
        df_tensor *fm = load_tensor(id, "f", fs, 4), *s = load_tensor(id, "s", ss, 4), *fk = load_tensor(id, "fk", fs, 4),
                  *sk = load_tensor(id, "sk", ss, 4), *c1 = load_tensor(id, "c1", cs, 4),
                  *c2 = load_tensor(id, "c2", cs, 4), *perms = load_perms(id, n, b), *gs, *gk;
        df_options *o = NULL;
        if (preset) {
            ck_assert_ok(df_options_new(&o));
            ck_assert_ok(df_stego_preset_apply(o, DF_STEGO_PRESET_PAPER));
        }
        double losses[4];
        ck_assert_ok(df_stego_loss(fm, s, fk, sk, c1, c2, perms, o, losses, &gs, &gk));
        for (int t = 0; t < 4; t++) {
            const double want = read_double(id, "losses", (size_t)t);
            ck_assert_msg(fabs(losses[t] - want) <= 1e-5 * fabs(want) + 1e-7, "%s term %d: %.9g, reference %.9g", id, t,
                          losses[t], want);
        }
        assert_matches(gs, id, "grad_s");
        assert_matches(gk, id, "grad_sk");
        df_tensor_free(gs), df_tensor_free(gk);
        /* errors: perms of another batch size, mismatched maps */
        const int64_t wrong[2] = {2, b + 1};
        df_tensor *bad;
        ck_assert_ok(df_tensor_new(2, wrong, DF_DTYPE_INT64, NULL, &bad));
        ck_assert_fails_with(df_stego_loss(fm, s, fk, sk, c1, c2, bad, o, losses, NULL, NULL), DF_E_INVALID_ARG,
                             "df_stego_loss");
        ck_assert_fails_with(df_stego_loss(fm, c1, fk, sk, c1, c2, NULL, o, losses, NULL, NULL), DF_E_INVALID_ARG,
                             "df_stego_loss");
        ck_assert_fails_with(df_stego_corr_loss(fm, fk, s, sk, c1, c2, 0.1, 8, losses, NULL, NULL), DF_E_INVALID_ARG,
                             "df_stego_corr_loss");
        ck_assert_fails_with(df_stego_corr_loss(fm, fk, s, sk, c1, NULL, 0.1, 0, losses, NULL, NULL), DF_E_INVALID_ARG,
                             "df_stego_corr_loss");
        df_tensor_free(bad);
        df_options_free(o);
        df_tensor_free(fm), df_tensor_free(s), df_tensor_free(fk), df_tensor_free(sk), df_tensor_free(c1),
            df_tensor_free(c2), df_tensor_free(perms);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 2);
    ck_assert_fails_with(df_stego_preset_apply(NULL, DF_STEGO_PRESET_CODE), DF_E_INVALID_ARG, "df_stego_preset_apply");
}
END_TEST


/* ---- the trainer ---------------------------------------------------------------------- */

/* The trainer's shape and seed; the rest at their defaults. */
static df_options *trainer_options(long long k, long long c, long long p, long long negatives, uint64_t seed) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CODE_DIM, k));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CLASSES, c));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_SAMPLES, p));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_NEGATIVES, negatives));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_SEED, (int64_t)seed));
    return o;
}

static df_stego *new_trainer(long long d, long long k, long long c, long long p, long long negatives, uint64_t seed) {
    df_options *o = trainer_options(k, c, p, negatives, seed);
    df_stego *t;
    ck_assert_ok(df_stego_new((size_t)d, o, &t));
    df_options_free(o);
    return t;
}

/* All 9 parameters concatenated (new). */
static float *all_parameters(const df_stego *t, size_t *total) {
    size_t n = 0, count;
    for (size_t i = 0; i < 9; i++) {
        ck_assert_ok(df_stego_parameter(t, i, NULL, NULL, 0, &count));
        n += count;
    }
    float *values = malloc(n * sizeof *values), *at = values;
    for (size_t i = 0; i < 9; i++) {
        ck_assert_ok(df_stego_parameter(t, i, NULL, at, n, &count));
        at += count;
    }
    *total = n;
    return values;
}

static void assert_close(const float *got, const float *want, size_t n, double tolerance, const char *what) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
    ck_assert_msg(worst <= tolerance * scale, "%s: largest difference %g of scale %g", what, worst, scale);
}

/* Slice `index` of the B-map batches stored back to back in fixture ID.NAME.f32. */
static df_tensor *step_batch(const char *id, const char *name, size_t index, const int64_t shape[4]) {
    char file[64];
    snprintf(file, sizeof file, "%s.%s.f32", id, name);
    size_t size;
    float *all = (float *)read_fixture_from(STEGO_DIR, file, &size);
    const size_t per_step = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    ck_assert_uint_ge(size, (index + 1) * per_step * sizeof(float));
    df_tensor *t;
    ck_assert_ok(df_tensor_from_host(all + index * per_step, 4, shape, &t));
    free(all);
    return t;
}

static df_tensor *step_labels(const char *id, size_t index, long long b, long long hl, long long wl) {
    char file[64];
    snprintf(file, sizeof file, "%s.labels.i64", id);
    size_t size;
    int64_t *all = (int64_t *)read_fixture_from(STEGO_DIR, file, &size);
    const size_t per_step = (size_t)(b * hl * wl);
    ck_assert_uint_ge(size, (index + 1) * per_step * sizeof(int64_t));
    const int64_t shape[3] = {b, hl, wl};
    df_tensor *labels;
    ck_assert_ok(df_tensor_new(3, shape, DF_DTYPE_INT64, NULL, &labels));
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_view_of(labels, &view));
    memcpy((void *)view.data, all + index * per_step, per_step * sizeof(int64_t));
    free(all);
    return labels;
}

/* After case id's steps, when steps.txt has "predict ID OUT_H OUT_W": df_stego_predict on the
 * fixture's features and flipped features equals the reference's evaluation (codes averaged with
 * the flipped ones, bilinear upsampling, softmax of 2 x cosine to the centroids): probabilities
 * within 1e-5, labels equal wherever the reference's best two probabilities are not within that. */
static int check_prediction(const df_stego *t, const char *id, long long b, long long d, long long h, long long w) {
    FILE *f = fopen(STEGO_DIR "steps.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[256], which[32];
    long long out_h = 0, out_w = 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "predict %31s %lld %lld", which, &out_h, &out_w) == 3 && strcmp(which, id) == 0;
    fclose(f);
    if (!found) return 0;
    const int64_t shape[4] = {b, d, h, w};
    df_tensor *x = step_batch(id, "predict_f", 0, shape), *flipped = step_batch(id, "predict_g", 0, shape);
    const size_t pixels = (size_t)(b * out_h * out_w);
    size_t size, classes;
    char file[64];
    snprintf(file, sizeof file, "%s.predict_probs.f32", id);
    float *want = (float *)read_fixture_from(STEGO_DIR, file, &size);
    classes = size / sizeof(float) / pixels;
    snprintf(file, sizeof file, "%s.predict_labels.i32", id);
    int32_t *want_labels = (int32_t *)read_fixture_from(STEGO_DIR, file, &size);
    ck_assert_uint_eq(size, pixels * sizeof(int32_t));
    float *probabilities = malloc(pixels * classes * sizeof *probabilities);
    int32_t *labels = malloc(pixels * sizeof *labels);
    ck_assert_ok(df_stego_predict(t, x, flipped, (size_t)out_w, (size_t)out_h, probabilities, labels));
    for (size_t i = 0; i < pixels * classes; i++)
        ck_assert_msg(fabs(probabilities[i] - want[i]) <= 1e-5, "%s: probability %zu is %.7f, reference %.7f", id, i,
                      probabilities[i], want[i]);
    size_t compared = 0;
    for (size_t i = 0; i < pixels; i++) {
        float best = -1, second = -1;
        for (size_t c = 0; c < classes; c++) {
            const float v = want[i * classes + c];
            if (v > best) second = best, best = v;
            else if (v > second) second = v;
        }
        if (best - second <= 1e-5) continue;
        ck_assert_msg(labels[i] == want_labels[i], "%s: pixel %zu is %d, reference %d", id, i, labels[i], want_labels[i]);
        compared++;
    }
    ck_assert_uint_gt(compared, pixels * 9 / 10);
    free(want), free(want_labels), free(probabilities), free(labels);
    df_tensor_free(x), df_tensor_free(flipped);
    return 1;
}

/* The steps from the seed equal the official steps in PyTorch (make_stego_step_fixtures.py):
 * every step's six losses, and the weights after the last step. With eps 1 (cases step1, step2)
 * a step is about lr x the gradient, so the weights' change is held to 1e-4 of its own size: a
 * gradient off by that much fails. With PyTorch's eps (step0) Adam's first step is lr x the
 * gradient's sign, which rounding may flip for a gradient near 0: there each weight must have
 * moved by at most lr, and the losses pin the computation. Then the trained head predicts. */
START_TEST(test_stego_step_matches_reference) {
    FILE *f = fopen(STEGO_DIR "steps.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[256], id[32];
    unsigned long long seed;
    long long steps, b, d, k, c, h, w, p, n, hl, wl;
    double lr, probe_lr, eps;
    int cases = 0, predictions = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "step %31s %llu %lld %lf %lf %lf %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", id, &seed,
                   &steps, &lr, &probe_lr, &eps, &b, &d, &k, &c, &h, &w, &p, &n, &hl, &wl) != 16)
            continue;
        df_options *o = trainer_options(k, c, p, n, seed);
        ck_assert_ok(df_options_set_float(o, DF_PARAM_STEGO_LR, lr));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_STEGO_PROBE_LR, probe_lr));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_STEGO_ADAM_EPS, eps));
        df_stego *t;
        ck_assert_ok(df_stego_new((size_t)d, o, &t));
        df_options_free(o);
        double got_eps;
        ck_assert_ok(df_stego_get_float(t, DF_PARAM_STEGO_ADAM_EPS, &got_eps));
        ck_assert_double_eq(got_eps, eps);
        size_t total, size;
        float *before = all_parameters(t, &total);
        char file[64];
        snprintf(file, sizeof file, "%s.initial.f32", id);
        float *want = (float *)read_fixture_from(STEGO_DIR, file, &size);
        ck_assert_uint_eq(size, total * sizeof(float));
        assert_close(before, want, total, 1e-6, "initial weights");
        free(want);
        const int64_t shape[4] = {b, d, h, w};
        for (long long s = 0; s < steps; s++) {
            df_tensor *x = step_batch(id, "f", (size_t)s, shape), *xk = step_batch(id, "fk", (size_t)s, shape);
            df_tensor *labels = hl > 0 ? step_labels(id, (size_t)s, b, hl, wl) : NULL;
            double losses[6];
            ck_assert_ok(df_stego_head_step(t, x, xk, labels, losses));
            for (int i = 0; i < 6; i++) {
                const double expected = read_double(id, "losses", (size_t)(6 * s + i));
                ck_assert_msg(fabs(losses[i] - expected) <= 1e-5 * fabs(expected) + 1e-7,
                              "%s step %lld loss %d: %.9g vs %.9g", id, s + 1, i, losses[i], expected);
            }
            df_tensor_free(x), df_tensor_free(xk), df_tensor_free(labels);
        }
        float *after = all_parameters(t, &total);
        snprintf(file, sizeof file, "%s.after.f32", id);
        want = (float *)read_fixture_from(STEGO_DIR, file, &size);
        ck_assert_uint_eq(size, total * sizeof(float));
        if (eps >= 1e-3) {
            assert_close(after, want, total, 1e-5, "weights after the steps");
            for (size_t i = 0; i < total; i++) after[i] -= before[i], want[i] -= before[i];
            assert_close(after, want, total, 1e-4, "the weights' change");
        } else {
            const double bound = fmax(lr, probe_lr) * (1 + 1e-5);
            for (size_t i = 0; i < total; i++)
                ck_assert_msg(fabs((double)after[i] - before[i]) <= bound, "%s weight %zu moved by %g", id, i,
                              fabs((double)after[i] - before[i]));
        }
        int64_t done;
        ck_assert_ok(df_stego_steps(t, &done));
        ck_assert_int_eq(done, steps);
        predictions += check_prediction(t, id, b, d, h, w);
        free(want), free(after), free(before);
        df_stego_free(t);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 3);
    ck_assert_int_eq(predictions, 1);
}
END_TEST

static df_tensor *random_maps(uint64_t seed, int64_t b, int64_t d, int64_t h, int64_t w) {
    const size_t n = (size_t)(b * d * h * w);
    float *values = malloc(n * sizeof *values);
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        values[i] = (float)((double)(state >> 40) / 16777216.0 - 0.5);
    }
    const int64_t shape[4] = {b, d, h, w};
    df_tensor *t;
    ck_assert_ok(df_tensor_from_host(values, 4, shape, &t));
    free(values);
    return t;
}

/* Acceptance 4: 20 steps, save, load (a new trainer), 10 more = 30 steps straight, bit for bit. */
START_TEST(test_stego_resume_equals_straight) {
    char path[] = "/tmp/dinofeat_stego_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* a larger Adam epsilon than the default: the resumed steps equal only if the file keeps it */
    df_options *o = trainer_options(8, 5, 6, 3, 42);
    ck_assert_ok(df_options_set_float(o, DF_PARAM_STEGO_ADAM_EPS, 1e-3));
    df_stego *straight, *first, *second;
    ck_assert_ok(df_stego_new(16, o, &straight));
    ck_assert_ok(df_stego_new(16, o, &first));
    df_options_free(o);
    for (int s = 0; s < 30; s++) {
        df_tensor *x = random_maps((uint64_t)s, 4, 16, 6, 6), *xk = random_maps((uint64_t)s + 1000, 4, 16, 6, 6);
        ck_assert_ok(df_stego_head_step(straight, x, xk, NULL, NULL));
        if (s < 20) ck_assert_ok(df_stego_head_step(first, x, xk, NULL, NULL));
        if (s == 19) {
            ck_assert_ok(df_stego_save(first, path));
            df_stego_free(first);
            ck_assert_ok(df_stego_load(path, &second));
        }
        if (s >= 20) ck_assert_ok(df_stego_head_step(second, x, xk, NULL, NULL));
        df_tensor_free(x), df_tensor_free(xk);
    }
    size_t n1, n2;
    float *a = all_parameters(straight, &n1), *b = all_parameters(second, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(a, b, n1 * sizeof *a) == 0, "the resumed trainer's weights differ");
    int64_t steps;
    ck_assert_ok(df_stego_steps(second, &steps));
    ck_assert_int_eq(steps, 30);
    free(a), free(b);
    /* the settings come back from the file as created (what a resumed training is checked against) */
    int64_t value = -1;
    double real = -1;
    ck_assert_ok(df_stego_get_int(second, DF_PARAM_STEGO_CLASSES, &value));
    ck_assert_int_eq(value, 5);
    ck_assert_ok(df_stego_get_int(second, DF_PARAM_STEGO_NEGATIVES, &value));
    ck_assert_int_eq(value, 3);
    ck_assert_ok(df_stego_get_int(second, DF_PARAM_STEGO_SEED, &value));
    ck_assert_int_eq(value, 42);
    ck_assert_ok(df_stego_get_int(second, DF_PARAM_STEGO_CODE_DIM, &value));
    ck_assert_int_eq(value, 8);
    ck_assert_ok(df_stego_get_float(second, DF_PARAM_STEGO_SHIFT_RAND, &real));
    ck_assert_double_eq(real, 0.46);
    ck_assert_ok(df_stego_get_float(second, DF_PARAM_STEGO_ADAM_EPS, &real));
    ck_assert_double_eq(real, 1e-3);
    ck_assert_fails_with(df_stego_get_int(second, DF_PARAM_STEGO_LR, &value), DF_E_INVALID_ARG, "df_stego_get_int");
    ck_assert_fails_with(df_stego_get_float(second, DF_PARAM_STEGO_SEED, &real), DF_E_INVALID_ARG, "df_stego_get_float");
    ck_assert_fails_with(df_stego_get_int(NULL, DF_PARAM_STEGO_SEED, &value), DF_E_INVALID_ARG, "df_stego_get_int");
    ck_assert_fails_with(df_stego_get_float(second, DF_PARAM_STEGO_LR, NULL), DF_E_INVALID_ARG, "df_stego_get_float");
    /* damaged files are refused */
    size_t size;
    unsigned char *bytes = read_fixture_from("", path, &size);
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, size - 9, f);
    fclose(f);
    df_stego *bad = NULL;
    ck_assert_fails_with(df_stego_load(path, &bad), DF_E_FORMAT, "df_stego_load");
    f = fopen(path, "wb");
    fwrite("DFSTEGO", 1, 8, f);
    fclose(f);
    ck_assert_fails_with(df_stego_load(path, &bad), DF_E_FORMAT, "df_stego_load");
    bytes[8] = 9;
    f = fopen(path, "wb");
    fwrite(bytes, 1, size, f);
    fclose(f);
    ck_assert_fails_with(df_stego_load(path, &bad), DF_E_UNSUPPORTED, "df_stego_load");
    ck_assert_ptr_null(bad);
    ck_assert_fails_with(df_stego_save(straight, "/nonexistent-dir/x.dfstego"), DF_E_IO, "df_stego_save");
    free(bytes);
    unlink(path);
    df_stego_free(straight);
    df_stego_free(second);
}
END_TEST

/* The linear probe's prediction at the feature grid (bilinear to the same size is the identity):
 * the probe's 1 x 1 convolution of the codes averaged with the mirror image's flipped back,
 * computed here from df_stego_codes and the probe's parameters (float32 products of 8 terms:
 * 1e-5 is many ulps of logits near 1). */
START_TEST(test_stego_linear_probe_predicts) {
    enum { B = 2, K = 8, C = 5, S = 5 };
    df_stego *t = new_trainer(16, K, C, 4, 2, 1);
    df_tensor *x = random_maps(1, B, 16, S, S), *codes = NULL;
    ck_assert_ok(df_stego_codes(t, x, &codes));
    static float code[B * K * S * S], weight[C * K], bias[C], probabilities[B * S * S * C];
    int32_t labels[B * S * S];
    ck_assert_ok(df_tensor_copy_to_host(codes, code, B * K * S * S));
    ck_assert_ok(df_stego_parameter(t, 7, NULL, weight, C * K, NULL));
    ck_assert_ok(df_stego_parameter(t, 8, NULL, bias, C, NULL));
    ck_assert_ok(df_stego_predict_linear(t, x, x, S, S, probabilities, labels));
    int decided = 0;
    for (int b = 0; b < B; b++)
        for (int y = 0; y < S; y++)
            for (int i = 0; i < S; i++) {
                double logits[C], top = -1e300, second = -1e300, total = 0;
                int best = 0;
                for (int c = 0; c < C; c++) {
                    logits[c] = bias[c];
                    for (int k = 0; k < K; k++) {
                        const float *plane = code + ((size_t)b * K + k) * S * S + (size_t)y * S;
                        logits[c] += weight[c * K + k] * (plane[i] + plane[S - 1 - i]) / 2;
                    }
                    if (logits[c] > top) second = top, top = logits[c], best = c;
                    else if (logits[c] > second) second = logits[c];
                }
                for (int c = 0; c < C; c++) total += exp(logits[c] - top);
                const size_t pixel = ((size_t)b * S + y) * S + i;
                for (int c = 0; c < C; c++)
                    ck_assert_double_eq_tol(probabilities[pixel * C + c], exp(logits[c] - top) / total, 1e-5);
                if (top - second > 1e-4) {
                    ck_assert_int_eq(labels[pixel], best);
                    decided++;
                }
            }
    ck_assert_int_ge(decided, B * S * S / 2);
    ck_assert_fails_with(df_stego_predict_linear(t, x, NULL, 0, S, NULL, labels), DF_E_INVALID_ARG,
                         "df_stego_predict_linear");
    ck_assert_fails_with(df_stego_predict_linear(NULL, x, NULL, S, S, NULL, labels), DF_E_INVALID_ARG,
                         "df_stego_predict_linear");
    ck_assert_fails_with(df_stego_predict_linear(t, x, NULL, S, S, NULL, NULL), DF_E_INVALID_ARG,
                         "df_stego_predict_linear");
    df_tensor_free(codes), df_tensor_free(x);
    df_stego_free(t);
}
END_TEST

START_TEST(test_stego_trainer_errors_and_codes) {
    df_stego *t = new_trainer(16, 8, 5, 4, 2, 1), *none = NULL;
    df_tensor *x = random_maps(1, 2, 16, 5, 5), *wrong = random_maps(2, 2, 12, 5, 5), *codes;
    ck_assert_fails_with(df_stego_head_step(t, x, wrong, NULL, NULL), DF_E_INVALID_ARG, "df_stego_head_step");
    ck_assert_fails_with(df_stego_head_step(t, wrong, wrong, NULL, NULL), DF_E_INVALID_ARG, "df_stego_head_step");
    const int64_t label_shape[3] = {3, 5, 5};
    df_tensor *two_labels = NULL;
    ck_assert_ok(df_tensor_new(3, label_shape, DF_DTYPE_INT64, NULL, &two_labels));
    ck_assert_fails_with(df_stego_head_step(t, x, x, two_labels, NULL), DF_E_INVALID_ARG, "df_stego_head_step");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "labels must be (2, H, W) int64"));
    df_tensor_free(two_labels);
    ck_assert_fails_with(df_stego_new(0, NULL, &none), DF_E_INVALID_ARG, "df_stego_new");
    ck_assert_fails_with(df_stego_new(16, NULL, NULL), DF_E_INVALID_ARG, "df_stego_new");
    int64_t steps;
    double last[6];
    ck_assert_fails_with(df_stego_steps(NULL, &steps), DF_E_INVALID_ARG, "df_stego_steps");
    ck_assert_fails_with(df_stego_last_losses(NULL, last), DF_E_INVALID_ARG, "df_stego_last_losses");
    ck_assert_fails_with(df_stego_check_model(t, NULL), DF_E_INVALID_ARG, "df_stego_check_model");
    ck_assert_fails_with(df_stego_save(NULL, "/tmp/x.dfstego"), DF_E_INVALID_ARG, "df_stego_save");
    ck_assert_fails_with(df_stego_load(NULL, &none), DF_E_INVALID_ARG, "df_stego_load");
    ck_assert_fails_with(df_stego_load("/nonexistent-dir/x.dfstego", &none), DF_E_IO, "df_stego_load");
    ck_assert_fails_with(df_stego_train(t, NULL, NULL, 8, NULL, 1, 4, NULL, 0, NULL, NULL), DF_E_INVALID_ARG,
                         "df_stego_train");
    ck_assert_fails_with(df_stego_codes(NULL, x, &codes), DF_E_INVALID_ARG, "df_stego_codes");
    ck_assert_fails_with(df_stego_parameter(t, 9, NULL, NULL, 0, NULL), DF_E_INVALID_ARG, "df_stego_parameter");
    float small[4];
    ck_assert_fails_with(df_stego_parameter(t, 0, NULL, small, 4, NULL), DF_E_INVALID_ARG, "df_stego_parameter");
    const char *name;
    ck_assert_ok(df_stego_parameter(t, 6, &name, NULL, 0, NULL));
    ck_assert_str_eq(name, "clusters");
    ck_assert_ok(df_stego_codes(t, x, &codes));
    int64_t shape[4];
    ck_assert_ok(df_tensor_shape(codes, shape, 4));
    ck_assert_int_eq(shape[1] * 100 + shape[2] * 10 + shape[3], 855);
    int32_t labels[2 * 9 * 7];
    ck_assert_ok(df_stego_predict(t, x, x, 7, 9, NULL, labels));
    for (int i = 0; i < 2 * 9 * 7; i++) ck_assert(labels[i] >= 0 && labels[i] < 5);
    ck_assert_fails_with(df_stego_predict(t, x, wrong, 7, 9, NULL, labels), DF_E_INTERNAL, "df_stego_predict");
    df_tensor_free(codes);
    ck_assert_fails_with(df_stego_codes(t, wrong, &codes), DF_E_INTERNAL, "df_stego_codes");
    ck_assert_ptr_null(codes);
    df_tensor_free(x), df_tensor_free(wrong);
    df_stego_free(t);
}
END_TEST

/* ---- planted classes (acceptance 3) ---------------------------------------------------- */

enum { PL_C = 4, PL_D = 24, PL_H = 8, PL_W = 8, PL_TRAIN = 240, PL_HELD = 40, PL_KNN = 8 };

static double lcg_uniform(uint64_t *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*state >> 11) / 9007199254740992.0;
}

static double lcg_normal(uint64_t *state) {
    const double u1 = lcg_uniform(state), u2 = lcg_uniform(state);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* Map m: two or three classes in blocks cut at random places; features (D, H, W) around each
 * class's prototype with noise. */
static void planted_map(uint64_t m, const float prototypes[PL_C][PL_D], float *features, int32_t *truth) {
    uint64_t state = 0x51ed + m * 7919;
    const int a = (int)(lcg_uniform(&state) * PL_C), b = (a + 1 + (int)(lcg_uniform(&state) * (PL_C - 1))) % PL_C,
              c = (int)(lcg_uniform(&state) * PL_C), cut_x = 2 + (int)(lcg_uniform(&state) * 4),
              cut_y = 2 + (int)(lcg_uniform(&state) * 4), three = lcg_uniform(&state) < 0.5;
    for (int y = 0; y < PL_H; y++)
        for (int x = 0; x < PL_W; x++) {
            const int cls = x < cut_x ? a : (three && y >= cut_y ? c : b);
            truth[y * PL_W + x] = cls;
            for (int d = 0; d < PL_D; d++)
                features[(d * PL_H + y) * PL_W + x] = (float)(prototypes[cls][d] + 1.0 * lcg_normal(&state));
        }
}

static void pooled(const float *features, double *out) {
    double norm = 0;
    for (int d = 0; d < PL_D; d++) {
        double s = 0;
        for (int p = 0; p < PL_H * PL_W; p++) s += features[d * PL_H * PL_W + p];
        out[d] = s, norm += s * s;
    }
    for (int d = 0; d < PL_D; d++) out[d] /= sqrt(norm);
}

static double hungarian_miou(const int32_t *predicted, const int32_t *truth, size_t n, size_t clusters) {
    df_confusion *confusion;
    double miou, accuracy, f1;
    ck_assert_ok(df_confusion_new(clusters, PL_C, &confusion));
    ck_assert_ok(df_confusion_add(confusion, predicted, truth, n));
    ck_assert_ok(df_confusion_scores(confusion, DF_MATCH_HUNGARIAN, &miou, &accuracy, &f1, NULL));
    df_confusion_free(confusion);
    return miou;
}

/* 300 steps with the head's products in precision learn the planted classes. */
static void learns_planted_classes(df_dtype precision) {
    float prototypes[PL_C][PL_D];
    uint64_t state = 99;
    for (int c = 0; c < PL_C; c++)
        for (int d = 0; d < PL_D; d++) prototypes[c][d] = (float)lcg_normal(&state);
    const size_t map = PL_D * PL_H * PL_W, all = PL_TRAIN + PL_HELD;
    float *features = malloc(all * map * sizeof *features);
    int32_t *truth = malloc(all * PL_H * PL_W * sizeof *truth), *knn = malloc(PL_TRAIN * PL_KNN * sizeof *knn);
    double (*gap)[PL_D] = malloc(PL_TRAIN * sizeof *gap);
    for (size_t m = 0; m < all; m++) planted_map(m, prototypes, features + m * map, truth + m * PL_H * PL_W);
    for (size_t m = 0; m < PL_TRAIN; m++) pooled(features + m * map, gap[m]);
    for (size_t m = 0; m < PL_TRAIN; m++) { /* the KNN table: most similar pooled maps, itself first */
        double best[PL_KNN];
        for (int r = 0; r < PL_KNN; r++) best[r] = -2, knn[m * PL_KNN + r] = 0;
        for (size_t o = 0; o < PL_TRAIN; o++) {
            double s = 0;
            for (int d = 0; d < PL_D; d++) s += gap[m][d] * gap[o][d];
            for (int r = 0; r < PL_KNN; r++)
                if (s > best[r]) {
                    for (int q = PL_KNN - 1; q > r; q--) best[q] = best[q - 1], knn[m * PL_KNN + q] = knn[m * PL_KNN + q - 1];
                    best[r] = s, knn[m * PL_KNN + r] = (int32_t)o;
                    break;
                }
        }
    }
    df_options *settings = trainer_options(16, PL_C, 11, 5, 3);
    ck_assert_ok(df_options_set_int(settings, DF_PARAM_STEGO_PRECISION, precision));
    df_stego *t;
    ck_assert_ok(df_stego_new(PL_D, settings, &t));
    df_options_free(settings);
    int64_t recorded = 0;
    ck_assert_ok(df_stego_get_int(t, DF_PARAM_STEGO_PRECISION, &recorded));
    ck_assert_int_eq(recorded, precision);
    enum { BATCH = 16 };
    float *batch = malloc(BATCH * map * sizeof *batch), *partners = malloc(BATCH * map * sizeof *partners);
    const int64_t shape[4] = {BATCH, PL_D, PL_H, PL_W};
    double losses[6], first_total = 0;
    for (int step = 0; step < 300; step++) {
        for (int b = 0; b < BATCH; b++) {
            const size_t m = (size_t)(lcg_uniform(&state) * PL_TRAIN), rank = 1 + (size_t)(lcg_uniform(&state) * 7);
            memcpy(batch + b * map, features + m * map, map * sizeof *batch);
            memcpy(partners + b * map, features + (size_t)knn[m * PL_KNN + rank] * map, map * sizeof *batch);
        }
        df_tensor *x, *xk;
        ck_assert_ok(df_tensor_borrow_host(batch, 4, shape, &x));
        ck_assert_ok(df_tensor_borrow_host(partners, 4, shape, &xk));
        ck_assert_ok(df_stego_head_step(t, x, xk, NULL, losses));
        if (step == 0) first_total = losses[3];
        df_tensor_free(x), df_tensor_free(xk);
    }
    /* held-out maps: the cluster probe's labels, and k-means (K = C) on the raw features */
    const size_t pixels = PL_HELD * PL_H * PL_W;
    int32_t *predicted = malloc(pixels * sizeof *predicted), *kmeans_labels = malloc(pixels * sizeof *kmeans_labels);
    const int64_t held_shape[4] = {PL_HELD, PL_D, PL_H, PL_W};
    df_tensor *held;
    ck_assert_ok(df_tensor_borrow_host(features + PL_TRAIN * map, 4, held_shape, &held));
    ck_assert_ok(df_stego_predict(t, held, NULL, PL_W, PL_H, NULL, predicted));
    float *rows = malloc(pixels * PL_D * sizeof *rows);
    for (size_t m = 0; m < PL_HELD; m++)
        for (int p = 0; p < PL_H * PL_W; p++)
            for (int d = 0; d < PL_D; d++)
                rows[(m * PL_H * PL_W + (size_t)p) * PL_D + d] = features[(PL_TRAIN + m) * map + (size_t)d * PL_H * PL_W + (size_t)p];
    const int64_t row_shape[2] = {(int64_t)pixels, PL_D};
    df_tensor *points, *assigned;
    df_kmeans *km;
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, PL_C));
    ck_assert_ok(df_tensor_borrow_host(rows, 2, row_shape, &points));
    ck_assert_ok(df_kmeans_fit(points, o, &km));
    ck_assert_ok(df_kmeans_predict(km, points, &assigned));
    float *ids = malloc(pixels * sizeof *ids);
    ck_assert_ok(df_tensor_copy_to_host(assigned, ids, pixels));
    for (size_t i = 0; i < pixels; i++) kmeans_labels[i] = (int32_t)ids[i];
    const double stego = hungarian_miou(predicted, truth + PL_TRAIN * PL_H * PL_W, pixels, PL_C),
                 raw = hungarian_miou(kmeans_labels, truth + PL_TRAIN * PL_H * PL_W, pixels, PL_C);
    printf("stego planted classes, %s: cluster-probe mIoU %.4f after 300 steps (k-means on the raw features %.4f); "
           "total loss %.4f -> %.4f\n", precision == DF_DTYPE_BFLOAT16 ? "bfloat16" : "float32", stego, raw, first_total,
           losses[3]);
    ck_assert_double_ge(stego, 0.9);
    ck_assert_double_lt(losses[3], first_total);
    free(ids), free(rows), free(predicted), free(kmeans_labels), free(batch), free(partners), free(gap), free(knn),
        free(truth), free(features);
    df_tensor_free(assigned), df_tensor_free(points), df_tensor_free(held);
    df_kmeans_free(km);
    df_options_free(o);
    df_stego_free(t);
}

START_TEST(test_stego_learns_planted_classes) { learns_planted_classes(DF_DTYPE_FLOAT32); }
END_TEST

/* Mixed precision: the same in bfloat16 products, float32 master weights and losses; float16,
 * which would need loss scaling, is refused. */
START_TEST(test_stego_learns_planted_classes_in_bfloat16) {
    learns_planted_classes(DF_DTYPE_BFLOAT16);
    df_options *o = trainer_options(16, PL_C, 11, 5, 3);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_PRECISION, DF_DTYPE_FLOAT16));
    df_stego *t = NULL;
    ck_assert_fails_with(df_stego_new(PL_D, o, &t), DF_E_UNSUPPORTED, "df_stego_new");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "stego.precision float16"));
    df_options_free(o);
}
END_TEST

Suite *stego_suite(void) {
    Suite *s = suite_create("stego");
    TCase *tc = tcase_create("loss");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_stego_pair_loss_matches_reference);
    tcase_add_test(tc, test_stego_total_matches_reference);
    tcase_add_test(tc, test_stego_step_matches_reference);
    tcase_add_test(tc, test_stego_resume_equals_straight);
    tcase_add_test(tc, test_stego_trainer_errors_and_codes);
    tcase_add_test(tc, test_stego_linear_probe_predicts);
    tcase_add_test(tc, test_stego_learns_planted_classes);
    tcase_add_test(tc, test_stego_learns_planted_classes_in_bfloat16);
    suite_add_tcase(s, tc);
    return s;
}
