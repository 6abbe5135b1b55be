/* The linear probe against plain PyTorch (test/reference/make_linear_probe_fixtures.py): losses,
 * final weights and predictions after SGD with momentum, weight decay and a step schedule; its
 * file; its failures. */
#include "check_common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define PROBE_DIR "fixtures/linear_probe/"

typedef struct probe_case {
    char id[32];
    int dim, classes, batch, h, w, lh, lw, epochs, steps, drop_at, seed, ph, pw;
    double lr, momentum, decay, gamma;
} probe_case;

static void *probe_file(const char *id, const char *name, size_t expected) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.raw", id, name);
    size_t size;
    void *data = read_fixture_from(PROBE_DIR, file, &size);
    ck_assert_msg(data != NULL, "missing fixture %s", file);
    ck_assert_uint_eq(size, expected);
    return data;
}

static int read_case(FILE *m, probe_case *c) {
    char line[512];
    while (fgets(line, sizeof line, m))
        if (sscanf(line, "probe %31s %d %d %d %d %d %d %d %d %d %d %lf %lf %lf %lf %d %d %d", c->id, &c->dim, &c->classes,
                   &c->batch, &c->h, &c->w, &c->lh, &c->lw, &c->epochs, &c->steps, &c->drop_at, &c->lr, &c->momentum,
                   &c->decay, &c->gamma, &c->seed, &c->ph, &c->pw) == 18)
            return 1;
    return 0;
}

static df_linear_probe *new_probe(const probe_case *c) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_PROBE_LR, c->lr));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_PROBE_MOMENTUM, c->momentum));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_PROBE_WEIGHT_DECAY, c->decay));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_PROBE_GAMMA, c->gamma));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_PROBE_DROP_AT, c->drop_at));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_PROBE_SEED, c->seed));
    df_linear_probe *p;
    ck_assert_ok(df_linear_probe_new((size_t)c->dim, (size_t)c->classes, o, &p));
    df_options_free(o);
    return p;
}

/* The probe saved to a new temporary file, whose name goes to path (the caller unlinks it). */
static void save_to_temporary(const df_linear_probe *p, char path[32]) {
    snprintf(path, 32, "/tmp/dinofeat_probe_XXXXXX");
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_ok(df_linear_probe_save(p, path));
}

/* The weight and bias a saved probe holds (the file's documented layout: magic, u32 version, u32
 * header length, the header, then classes x dim weights and classes biases). */
static float *saved_parameters(const df_linear_probe *p, const probe_case *c) {
    char path[32];
    save_to_temporary(p, path);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char prefix[16];
    ck_assert_uint_eq(fread(prefix, 1, 16, f), 16);
    ck_assert_mem_eq(prefix, "DFPROBE", 8);
    uint32_t length;
    memcpy(&length, prefix + 12, 4);
    ck_assert_int_eq(fseek(f, (long)length, SEEK_CUR), 0);
    const size_t n = (size_t)c->classes * (c->dim + 1);
    float *values = malloc(n * sizeof *values);
    ck_assert_uint_eq(fread(values, sizeof *values, n, f), n);
    fclose(f);
    unlink(path);
    return values;
}

static double largest_magnitude(const float *values, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(values[i]));
    return m;
}

START_TEST(test_linear_probe_equals_pytorch) {
    FILE *m = fopen(PROBE_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    probe_case c;
    int checked = 0;
    while (read_case(m, &c)) {
        const size_t total = (size_t)c.epochs * c.steps, grid = (size_t)c.batch * c.h * c.w * c.dim,
                     plane = (size_t)c.batch * c.lh * c.lw;
        float *features = probe_file(c.id, "features", total * grid * 4);
        uint8_t *labels = probe_file(c.id, "labels", total * plane);
        double *losses = probe_file(c.id, "losses", total * 8);
        float *weight = probe_file(c.id, "weight", (size_t)c.classes * c.dim * 4);
        float *bias = probe_file(c.id, "bias", (size_t)c.classes * 4);
        float *query = probe_file(c.id, "query", grid * 4);
        uint8_t *predicted = probe_file(c.id, "predicted", (size_t)c.batch * c.ph * c.pw);
        df_linear_probe *p = new_probe(&c), *resumed = NULL;
        const int64_t shape[4] = {c.batch, c.h, c.w, c.dim};
        for (int e = 0; e < c.epochs; e++) {
            for (int s = 0; s < c.steps; s++) {
                const size_t i = (size_t)e * c.steps + s;
                df_tensor *x;
                ck_assert_ok(df_tensor_borrow_host(features + i * grid, 4, shape, &x));
                double loss = -1, again = -1;
                ck_assert_ok(df_linear_probe_step(p, x, labels + i * plane, (size_t)c.lh, (size_t)c.lw, &loss));
                ck_assert_msg(fabs(loss - losses[i]) <= F32_BACKWARD_RTOL * fabs(losses[i]),
                              "%s step %zu: loss %.9g, PyTorch %.9g", c.id, i, loss, losses[i]);
                /* a probe saved and loaded after the first epoch goes on exactly as the original */
                if (resumed) {
                    ck_assert_ok(df_linear_probe_step(resumed, x, labels + i * plane, (size_t)c.lh, (size_t)c.lw, &again));
                    ck_assert_msg(again == loss, "%s step %zu: resumed loss %.17g, %.17g", c.id, i, again, loss);
                }
                df_tensor_free(x);
            }
            ck_assert_ok(df_linear_probe_end_epoch(p));
            if (resumed) ck_assert_ok(df_linear_probe_end_epoch(resumed));
            if (e == 0) {
                char path[32];
                save_to_temporary(p, path);
                ck_assert_ok(df_linear_probe_load(path, &resumed));
                unlink(path);
            }
        }
        int64_t epochs = 0, steps = 0;
        ck_assert_ok(df_linear_probe_progress(p, &epochs, &steps));
        ck_assert_int_eq(epochs, c.epochs);
        ck_assert_int_eq(steps, (int64_t)total);
        ck_assert_ok(df_linear_probe_progress(resumed, &epochs, NULL));
        ck_assert_int_eq(epochs, c.epochs);
        float *got = saved_parameters(p, &c), *got_resumed = saved_parameters(resumed, &c);
        ck_assert_mem_eq(got, got_resumed, (size_t)c.classes * (c.dim + 1) * sizeof *got);
        const double scale = fmax(largest_magnitude(weight, (size_t)c.classes * c.dim), largest_magnitude(bias, (size_t)c.classes));
        for (int i = 0; i < c.classes * c.dim; i++)
            ck_assert_msg(fabs(got[i] - weight[i]) <= F32_BACKWARD_RTOL * scale, "%s weight %d: %.9g, PyTorch %.9g", c.id, i,
                          got[i], weight[i]);
        for (int i = 0; i < c.classes; i++)
            ck_assert_msg(fabs(got[c.classes * c.dim + i] - bias[i]) <= F32_BACKWARD_RTOL * scale, "%s bias %d: %.9g, PyTorch %.9g",
                          c.id, i, got[c.classes * c.dim + i], bias[i]);
        df_tensor *q;
        ck_assert_ok(df_tensor_borrow_host(query, 4, shape, &q));
        const size_t n = (size_t)c.batch * c.ph * c.pw;
        uint8_t *out = malloc(n);
        ck_assert_ok(df_linear_probe_predict(p, q, (size_t)c.ph, (size_t)c.pw, out));
        size_t compared = 0;
        for (size_t i = 0; i < n; i++)
            if (predicted[i] != 255) {
                ck_assert_msg(out[i] == predicted[i], "%s pixel %zu: class %d, PyTorch %d", c.id, i, out[i], predicted[i]);
                compared++;
            }
        ck_assert_uint_ge(compared, n * 9 / 10);
        df_tensor_free(q);
        free(out), free(got), free(got_resumed);
        free(features), free(labels), free(losses), free(weight), free(bias), free(query), free(predicted);
        df_linear_probe_free(p);
        df_linear_probe_free(resumed);
        checked++;
    }
    fclose(m);
    ck_assert_int_ge(checked, 2);
}
END_TEST

START_TEST(test_linear_probe_unscored_batch_and_defaults) {
    df_linear_probe *p;
    ck_assert_ok(df_linear_probe_new(4, 3, NULL, &p));
    float features[2 * 2 * 4];
    for (int i = 0; i < 16; i++) features[i] = (float)(i % 5) - 2;
    const int64_t shape[4] = {1, 2, 2, 4};
    df_tensor *x;
    ck_assert_ok(df_tensor_borrow_host(features, 4, shape, &x));
    uint8_t before[9], after[9], unscored[9];
    memset(unscored, 255, sizeof unscored);
    unscored[4] = 3; /* past the classes: not scored either */
    ck_assert_ok(df_linear_probe_predict(p, x, 3, 3, before));
    double loss = -1;
    ck_assert_ok(df_linear_probe_step(p, x, unscored, 3, 3, &loss));
    ck_assert_double_eq(loss, 0);
    int64_t steps = -1;
    ck_assert_ok(df_linear_probe_progress(p, NULL, &steps));
    ck_assert_int_eq(steps, 0);
    ck_assert_ok(df_linear_probe_predict(p, x, 3, 3, after));
    ck_assert_mem_eq(before, after, sizeof before);
    /* the defaults are NeCo's, and the same seed gives the same probe */
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    double lr, momentum, decay, gamma;
    int64_t drop_at;
    ck_assert_ok(df_options_get_float(o, DF_PARAM_PROBE_LR, &lr));
    ck_assert_ok(df_options_get_float(o, DF_PARAM_PROBE_MOMENTUM, &momentum));
    ck_assert_ok(df_options_get_float(o, DF_PARAM_PROBE_WEIGHT_DECAY, &decay));
    ck_assert_ok(df_options_get_float(o, DF_PARAM_PROBE_GAMMA, &gamma));
    ck_assert_ok(df_options_get_int(o, DF_PARAM_PROBE_DROP_AT, &drop_at));
    ck_assert_double_eq(lr, 0.01);
    ck_assert_double_eq(momentum, 0.9);
    ck_assert_double_eq(decay, 1e-4);
    ck_assert_double_eq(gamma, 0.1);
    ck_assert_int_eq(drop_at, 20);
    df_linear_probe *same;
    ck_assert_ok(df_linear_probe_new(4, 3, o, &same));
    ck_assert_ok(df_linear_probe_predict(same, x, 3, 3, after));
    ck_assert_mem_eq(before, after, sizeof before);
    df_linear_probe_free(same);
    df_options_free(o);
    df_tensor_free(x);
    df_linear_probe_free(p);
}
END_TEST

START_TEST(test_linear_probe_errors) {
    df_linear_probe *p = (df_linear_probe *)1;
    ck_assert_fails_with(df_linear_probe_new(0, 3, NULL, &p), DF_E_INVALID_ARG, "df_linear_probe_new");
    ck_assert_ptr_null(p);
    ck_assert_fails_with(df_linear_probe_new(4, 255, NULL, &p), DF_E_INVALID_ARG, "df_linear_probe_new");
    ck_assert_fails_with(df_linear_probe_new(4, 3, NULL, NULL), DF_E_INVALID_ARG, "df_linear_probe_new");
    ck_assert_ok(df_linear_probe_new(4, 3, NULL, &p));
    float features[2 * 2 * 5] = {0};
    uint8_t labels[4] = {0, 1, 2, 0}, out[4];
    const int64_t wrong_dim[4] = {1, 2, 2, 5}, three[3] = {2, 2, 4};
    df_tensor *x, *flat;
    ck_assert_ok(df_tensor_borrow_host(features, 4, wrong_dim, &x));
    ck_assert_ok(df_tensor_borrow_host(features, 3, three, &flat));
    ck_assert_fails_with(df_linear_probe_step(p, x, labels, 2, 2, NULL), DF_E_INVALID_ARG, "df_linear_probe_step");
    ck_assert_fails_with(df_linear_probe_step(p, flat, labels, 2, 2, NULL), DF_E_INVALID_ARG, "df_linear_probe_step");
    ck_assert_fails_with(df_linear_probe_step(p, flat, NULL, 2, 2, NULL), DF_E_INVALID_ARG, "df_linear_probe_step");
    ck_assert_fails_with(df_linear_probe_step(NULL, flat, labels, 2, 2, NULL), DF_E_INVALID_ARG, "df_linear_probe_step");
    ck_assert_fails_with(df_linear_probe_predict(p, x, 2, 2, out), DF_E_INVALID_ARG, "df_linear_probe_predict");
    ck_assert_fails_with(df_linear_probe_predict(p, flat, 0, 2, out), DF_E_INVALID_ARG, "df_linear_probe_predict");
    ck_assert_fails_with(df_linear_probe_predict(p, flat, 2, 2, NULL), DF_E_INVALID_ARG, "df_linear_probe_predict");
    ck_assert_fails_with(df_linear_probe_end_epoch(NULL), DF_E_INVALID_ARG, "df_linear_probe_end_epoch");
    ck_assert_fails_with(df_linear_probe_progress(NULL, NULL, NULL), DF_E_INVALID_ARG, "df_linear_probe_progress");
    ck_assert_fails_with(df_linear_probe_save(p, NULL), DF_E_INVALID_ARG, "df_linear_probe_save");
    ck_assert_fails_with(df_linear_probe_save(p, "/nonexistent/folder/probe.dfprobe"), DF_E_IO, "df_linear_probe_save");
    df_linear_probe *loaded = (df_linear_probe *)1;
    ck_assert_fails_with(df_linear_probe_load("/nonexistent/probe.dfprobe", &loaded), DF_E_IO, "df_linear_probe_load");
    ck_assert_ptr_null(loaded);
    /* a file cut short, and a file of another kind */
    char path[32];
    save_to_temporary(p, path);
    ck_assert_int_eq(truncate(path, 40 + 60), 0);
    ck_assert_fails_with(df_linear_probe_load(path, &loaded), DF_E_FORMAT, "df_linear_probe_load");
    ck_assert_fails_with(df_linear_probe_load(FIXTURE_DIR "grey1.png", &loaded), DF_E_FORMAT, "df_linear_probe_load");
    unlink(path);
    df_tensor_free(x), df_tensor_free(flat);
    df_linear_probe_free(p);
    df_linear_probe_free(NULL);
}
END_TEST

Suite *linear_probe_suite(void) {
    Suite *s = suite_create("linear_probe");
    TCase *tc = tcase_create("linear_probe");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_linear_probe_equals_pytorch);
    tcase_add_test(tc, test_linear_probe_unscored_batch_and_defaults);
    tcase_add_test(tc, test_linear_probe_errors);
    suite_add_tcase(s, tc);
    return s;
}
