/* NeCo post-pretraining on a tiny DINOv2 with registers: a 30-step run whose loss falls and whose
 * exported backbone df_model_open reads with changed features; kill-and-resume equal to an
 * uninterrupted run; save / load / export and their failure paths. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* 32 images of 64 x 64: a bright disc on a textured background, at places and colours varying
 * with the index. */
static void write_images(const char *directory, int count) {
    for (int n = 0; n < count; n++) {
        df_image *image;
        ck_assert_ok(df_image_new(64, 64, 3, 8, &image));
        unsigned char *px = df_image_pixels(image);
        const double cx = 16 + (n * 7) % 32, cy = 16 + (n * 13) % 32, r = 8 + n % 9;
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) {
                const int inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
                unsigned char *p = px + 3 * (y * 64 + x);
                p[0] = inside ? (unsigned char)(200 + n) : (unsigned char)(40 + 30 * sin(x * 0.5 + n));
                p[1] = inside ? (unsigned char)(60 + 5 * n) : (unsigned char)(60 + 30 * cos(y * 0.4));
                p[2] = inside ? 30 : (unsigned char)(90 + (x ^ y) % 40);
            }
        char path[512];
        snprintf(path, sizeof path, "%s/%03d.png", directory, n);
        ck_assert_ok(df_image_save_png(image, path));
        df_image_free(image);
    }
}

static df_options *tiny_options(void) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, 56));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 28));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_HEAD_HIDDEN, 32));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_HEAD_OUT, 16));
    /* a tiny random backbone learns in 30 steps only at rates far above the paper's */
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_LR_HEAD, 1e-3));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_LR_BACKBONE, 1e-3));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_SEED, 3));
    return o;
}

typedef struct loss_log {
    df_neco *trainer;
    double losses[64];
    size_t count, stop_after;
} loss_log;

static int record_loss(void *user, uint64_t done, uint64_t total, const char *stage) {
    (void)total, (void)stage;
    loss_log *log = user;
    ck_assert_ok(df_neco_last_loss(log->trainer, &log->losses[log->count]));
    log->count++;
    return log->stop_after && done >= log->stop_after;
}

static void patch_tokens(df_model *model, const df_tensor *images, float *out, size_t count) {
    df_forward *f;
    const df_tensor *patch;
    ck_assert_ok(df_model_forward(model, images, DF_OUTPUT_PATCH, &f));
    ck_assert_ok(df_forward_output(f, DF_OUTPUT_PATCH, &patch));
    ck_assert_ok(df_tensor_copy_to_host(patch, out, count));
    df_forward_free(f);
}

START_TEST(test_neco_train_loss_falls_and_exports) {
    char root[] = "/tmp/dinofeat_neco_XXXXXX", images[600], exported[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/images", root);
    snprintf(exported, sizeof exported, "%s/neco.safetensors", root);
    ck_assert_int_eq(mkdir(images, 0755), 0);
    write_images(images, 32);
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    df_options *o = tiny_options();
    df_dataset *dataset;
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &dataset));
    df_neco *trainer;
    ck_assert_ok(df_neco_new(model, 0, o, &trainer));
    loss_log log = {trainer, {0}, 0, 0};
    ck_assert_ok(df_neco_train(trainer, dataset, 15, 16, NULL, 0, record_loss, &log));
    ck_assert_uint_eq(log.count, 30);
    double first = 0, last = 0;
    for (int i = 0; i < 10; i++) first += log.losses[i] / 10, last += log.losses[20 + i] / 10;
    printf("neco tiny run: mean loss of steps 1-10 %.4f, of steps 21-30 %.4f\n", first, last);
    ck_assert_msg(last < first, "the loss did not fall: %g then %g", first, last);

    ck_assert_ok(df_neco_export(trainer, exported));
    df_options *heads;
    ck_assert_ok(df_options_new(&heads));
    ck_assert_ok(df_options_set_int(heads, DF_PARAM_MODEL_HEADS, 2));
    df_model *trained;
    ck_assert_ok(df_model_open(exported, NULL, heads, &trained));
    int64_t registers;
    const char *interp;
    ck_assert_ok(df_model_info_int(trained, DF_MODEL_INFO_REGISTERS, &registers));
    ck_assert_int_eq(registers, 4);
    ck_assert_ok(df_model_info_str(trained, DF_MODEL_INFO_POS_INTERP, &interp));
    ck_assert_str_eq(interp, "size_aa");
    df_image *image;
    df_tensor *x;
    char first_image[700];
    snprintf(first_image, sizeof first_image, "%s/000.png", images);
    ck_assert_ok(df_image_load(first_image, NULL, &image));
    ck_assert_ok(df_image_to_tensor(image, NULL, NULL, &x));
    enum { N = 4 * 4 * 16 };
    float before[N], after[N];
    patch_tokens(model, x, before, N);
    patch_tokens(trained, x, after, N);
    double change = 0;
    for (int i = 0; i < N; i++) change = fmax(change, fabs(after[i] - before[i]));
    ck_assert_msg(change > 1e-3, "the exported backbone gives the starting features (largest change %g)", change);
    df_tensor_free(x), df_image_free(image), df_model_free(trained), df_options_free(heads);
    df_neco_free(trainer), df_dataset_free(dataset), df_options_free(o), df_model_free(model);
    remove_tree(root);
}
END_TEST

/* Cancelled after step 3 of 6 with a checkpoint every 2 steps: the checkpoint of step 2, loaded
 * and trained to the end, equals six straight steps, bit for bit (the exports compared). */
START_TEST(test_neco_resume_equals_straight_run) {
    char root[] = "/tmp/dinofeat_neco_resume_XXXXXX", images[600], path[600], a[600], b[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/images", root);
    snprintf(path, sizeof path, "%s/run.dfneco", root);
    snprintf(a, sizeof a, "%s/a.safetensors", root);
    snprintf(b, sizeof b, "%s/b.safetensors", root);
    ck_assert_int_eq(mkdir(images, 0755), 0);
    write_images(images, 12);
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    df_options *o = tiny_options();
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_QUEUE, 4 * 49));
    df_dataset *dataset;
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &dataset));
    df_neco *straight, *cancelled, *resumed;
    ck_assert_ok(df_neco_new(model, 0, o, &straight));
    ck_assert_ok(df_neco_train(straight, dataset, 2, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_neco_export(straight, a));
    ck_assert_ok(df_neco_new(model, 0, o, &cancelled));
    loss_log log = {cancelled, {0}, 0, 3};
    ck_assert_fails_with(df_neco_train(cancelled, dataset, 2, 4, path, 2, record_loss, &log), DF_E_CANCELLED,
                         "df_neco_train");
    ck_assert_ok(df_neco_load(path, model, &resumed));
    int64_t steps;
    ck_assert_ok(df_neco_steps(resumed, &steps));
    ck_assert_int_eq(steps, 2);
    ck_assert_fails_with(df_neco_train(resumed, dataset, 3, 4, NULL, 0, NULL, NULL), DF_E_INVALID_ARG, "df_neco_train");
    ck_assert_fails_with(df_neco_train(resumed, dataset, 2, 3, NULL, 0, NULL, NULL), DF_E_INVALID_ARG, "df_neco_train");
    ck_assert_ok(df_neco_train(resumed, dataset, 2, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_neco_export(resumed, b));
    double la, lb;
    ck_assert_ok(df_neco_last_loss(straight, &la));
    ck_assert_ok(df_neco_last_loss(resumed, &lb));
    ck_assert_double_eq(la, lb);
    size_t sa, sb;
    unsigned char *da = read_fixture_from("", a, &sa), *db = read_fixture_from("", b, &sb);
    ck_assert_ptr_nonnull(da);
    ck_assert_ptr_nonnull(db);
    ck_assert_uint_eq(sa, sb);
    ck_assert_int_eq(memcmp(da, db, sa), 0);
    free(da), free(db);

    /* another backbone is refused; a corrupt file is a format error */
    df_model *other = open_tiny_model("dinov2_s14.pth");
    df_neco *refused = (df_neco *)1;
    ck_assert_fails_with(df_neco_load(path, other, &refused), DF_E_INVALID_ARG, "df_neco_load");
    ck_assert_ptr_null(refused);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), 100), 0);
    fclose(f);
    ck_assert_fails_with(df_neco_load(path, model, &refused), DF_E_FORMAT, "df_neco_load");
    df_model_free(other);
    df_neco_free(straight), df_neco_free(cancelled), df_neco_free(resumed);
    df_dataset_free(dataset), df_options_free(o), df_model_free(model);
    remove_tree(root);
}
END_TEST

START_TEST(test_neco_trainer_errors) {
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    df_options *o = tiny_options();
    df_neco *t = (df_neco *)1;
    ck_assert_fails_with(df_neco_new(NULL, 0, o, &t), DF_E_INVALID_ARG, "df_neco_new");
    ck_assert_ptr_null(t);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 30));
    ck_assert_fails_with(df_neco_new(model, 0, o, &t), DF_E_INVALID_ARG, "df_neco_new");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 28));
    ck_assert_ok(df_neco_new(model, 0, o, &t));
    df_image *image;
    ck_assert_ok(df_image_new(40, 40, 3, 8, &image));
    const df_image *batch[1] = {image};
    double loss;
    ck_assert_fails_with(df_neco_step(t, batch, 1, &loss), DF_E_INVALID_ARG, "df_neco_step");
    ck_assert_fails_with(df_neco_step(t, batch, 0, &loss), DF_E_INVALID_ARG, "df_neco_step");
    ck_assert_fails_with(df_neco_step(NULL, batch, 1, &loss), DF_E_INVALID_ARG, "df_neco_step");
    df_neco_free(t);
    ck_assert_ok(df_neco_new(model, 4, o, &t));
    ck_assert_ok(df_neco_step(t, batch, 1, &loss));
    ck_assert(isfinite(loss) && loss > 0);
    int64_t steps;
    ck_assert_ok(df_neco_steps(t, &steps));
    ck_assert_int_eq(steps, 1);
    ck_assert_fails_with(df_neco_steps(t, NULL), DF_E_INVALID_ARG, "df_neco_steps");
    ck_assert_fails_with(df_neco_last_loss(NULL, &loss), DF_E_INVALID_ARG, "df_neco_last_loss");
    ck_assert_fails_with(df_neco_train(t, NULL, 1, 1, NULL, 0, NULL, NULL), DF_E_INVALID_ARG, "df_neco_train");
    ck_assert_fails_with(df_neco_save(t, NULL), DF_E_INVALID_ARG, "df_neco_save");
    ck_assert_fails_with(df_neco_save(t, "/nonexistent/dir/x.dfneco"), DF_E_IO, "df_neco_save");
    ck_assert_fails_with(df_neco_export(NULL, "x"), DF_E_INVALID_ARG, "df_neco_export");
    ck_assert_fails_with(df_neco_export(t, "/nonexistent/dir/x.safetensors"), DF_E_IO, "df_neco_export");
    df_neco *loaded = (df_neco *)1;
    ck_assert_fails_with(df_neco_load("/nonexistent.dfneco", model, &loaded), DF_E_IO, "df_neco_load");
    ck_assert_ptr_null(loaded);
    ck_assert_fails_with(df_neco_load("fixtures/models/dino_s8.pth", model, &loaded), DF_E_FORMAT, "df_neco_load");
    df_neco_free(t), df_neco_free(NULL);
    df_image_free(image), df_options_free(o), df_model_free(model);
}
END_TEST


/* Before any step the exported student is the starting backbone: the same features, to float32
 * rounding, for DINO and for DINOv2 with registers (names, registers and position embedding kept). */
START_TEST(test_neco_export_before_training_is_the_backbone) {
    const char *files[2] = {"dino_s8.pth", "dinov2_s14_reg4.pth"};
    char root[] = "/tmp/dinofeat_neco_export_XXXXXX", path[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(path, sizeof path, "%s/start.safetensors", root);
    for (int k = 0; k < 2; k++) {
        df_model *model = open_tiny_model(files[k]), *exported;
        df_options *o = tiny_options();
        if (k == 0) {
            ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, 64));
            ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 32));
        }
        df_neco *trainer;
        ck_assert_ok(df_neco_new(model, 10, o, &trainer));
        ck_assert_ok(df_neco_export(trainer, path));
        /* the file records its 2 heads (dim 16 alone would not give them) */
        ck_assert_ok(df_model_open(path, NULL, NULL, &exported));
        int64_t recorded_heads = 0;
        ck_assert_ok(df_model_info_int(exported, DF_MODEL_INFO_HEADS, &recorded_heads));
        ck_assert_int_eq(recorded_heads, 2);
        const int64_t shape[4] = {1, 3, 56, 56};
        float pixels[3 * 56 * 56];
        for (int i = 0; i < 3 * 56 * 56; i++) pixels[i] = (float)sin(i * 0.01);
        df_tensor *x;
        ck_assert_ok(df_tensor_from_host(pixels, 4, shape, &x));
        enum { N = 7 * 7 * 16 };
        float want[N], got[N];
        const size_t n = k == 0 ? 7 * 7 * 16 : 4 * 4 * 16;
        patch_tokens(model, x, want, n);
        patch_tokens(exported, x, got, n);
        for (size_t i = 0; i < n; i++) ck_assert_float_eq_tol(got[i], want[i], 1e-5);
        df_tensor_free(x), df_model_free(exported);
        df_neco_free(trainer), df_options_free(o), df_model_free(model);
    }
    remove_tree(root);
}
END_TEST

Suite *neco_train_suite(void) {
    Suite *s = suite_create("neco_train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_neco_trainer_errors);
    tcase_add_test(tc, test_neco_export_before_training_is_the_backbone);
    tcase_add_test(tc, test_neco_resume_equals_straight_run);
    tcase_add_test(tc, test_neco_train_loss_falls_and_exports);
    suite_add_tcase(s, tc);
    return s;
}
