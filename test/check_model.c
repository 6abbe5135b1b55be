/* Backbones against the plain-PyTorch reference (test/reference/vit_reference.py) on the tiny
 * models of fixtures/models/manifest.txt, in every file layout; malformed checkpoints. */
#include "check_common.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODEL_DIR "fixtures/models/"

typedef struct model_case {
    char id[96], model[64], variant[16], cover[8];
    int b, h, w, stride;
} model_case;

static df_pos_interp variant_named(const char *name) {
    if (strcmp(name, "offset") == 0) return DF_POS_INTERP_OFFSET;
    if (strcmp(name, "size_aa") == 0) return DF_POS_INTERP_SIZE_AA;
    return DF_POS_INTERP_SIZE;
}

static df_output output_named(const char *name) {
    static const struct { const char *name; df_output output; } table[] = {
        {"patch", DF_OUTPUT_PATCH}, {"cls", DF_OUTPUT_CLS}, {"registers", DF_OUTPUT_REGISTERS},
        {"cls_attention", DF_OUTPUT_CLS_ATTENTION}, {"q", DF_OUTPUT_Q}, {"k", DF_OUTPUT_K}, {"v", DF_OUTPUT_V}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].output;
    return 0;
}

static df_model *open_model(const char *file, int heads) {
    char path[256];
    snprintf(path, sizeof path, MODEL_DIR "%s", file);
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_MODEL_HEADS, heads));
    df_model *model = NULL;
    ck_assert_ok(df_model_open(path, "cpu", options, &model));
    df_options_free(options);
    return model;
}

/* max |a - b| / max |b|: the acceptance's relative error. */
static double relative_error(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return scale > 0 ? worst / scale : worst;
}

static float *tensor_values(const df_tensor *tensor, size_t *count) {
    *count = (size_t)df_tensor_numel(tensor);
    float *values = malloc((*count ? *count : 1) * sizeof *values);
    ck_assert_ok(df_tensor_copy_to_host(tensor, values, *count));
    return values;
}

/* Runs case c; with auto_variant the model's own default interpolation is used, which must be
 * the case's. */
static df_forward *run_case_with(df_model *model, const model_case *c, unsigned outputs, int auto_variant) {
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_STRIDE, c->stride));
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_POS_INTERP, auto_variant ? DF_POS_INTERP_AUTO : variant_named(c->variant)));
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_COVER, strcmp(c->cover, "pad") == 0 ? DF_COVER_PAD : DF_COVER_CROP));
    df_tensor *input = fixture_images(c->b, c->h, c->w);
    df_forward *forward = NULL;
    ck_assert_ok(df_model_forward(model, input, outputs, &forward));
    df_tensor_free(input);
    return forward;
}

static df_forward *run_case(df_model *model, const model_case *c, unsigned outputs) {
    return run_case_with(model, c, outputs, 0);
}

/* Compares every "out" line of case c with the forward pass; returns the worst error. */
static double compare_outputs(df_forward *forward, const model_case *c, const char *label, double tolerance) {
    FILE *manifest = fopen(MODEL_DIR "manifest.txt", "r");
    char line[512], id[96], name[32], file[128];
    int ndim;
    double worst = 0;
    int compared = 0;
    while (fgets(line, sizeof line, manifest)) {
        if (sscanf(line, "out %95s %31s %127s %d", id, name, file, &ndim) != 4 || strcmp(id, c->id) != 0) continue;
        const df_tensor *tensor = NULL;
        if (strncmp(name, "intermediate_", 13) == 0 && df_forward_layer_count(forward) == 0) continue;
        if (strncmp(name, "intermediate_", 13) == 0) ck_assert_ok(df_forward_layer(forward, (size_t)(name[13] - '0'), &tensor));
        else ck_assert_ok(df_forward_output(forward, output_named(name), &tensor));
        size_t size, count;
        float *expected = (float *)read_fixture_from(MODEL_DIR, file, &size);
        float *got = tensor_values(tensor, &count);
        ck_assert_msg(size == count * sizeof(float), "%s %s %s: %zu values, reference has %zu", label, c->id, name, count,
                      size / sizeof(float));
        double error = count ? relative_error(got, expected, count) : 0;
        ck_assert_msg(error <= tolerance, "%s %s %s: relative error %.3g > %.3g", label, c->id, name, error, tolerance);
        worst = fmax(worst, error);
        compared++;
        free(got);
        free(expected);
    }
    fclose(manifest);
    ck_assert_msg(compared > 0, "case %s has no outputs", c->id);
    return worst;
}

typedef struct model_entry {
    char name[64], file[128];
    int heads;
} model_entry;

/* Reads the manifest's models, layouts and cases. */
static int read_manifest(model_entry *models, int *model_count, model_entry *layouts, int *layout_count,
                         model_case *cases, int *case_count) {
    FILE *manifest = fopen(MODEL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[512];
    *model_count = *layout_count = *case_count = 0;
    while (fgets(line, sizeof line, manifest)) {
        model_entry *m = &models[*model_count];
        model_entry *l = &layouts[*layout_count];
        model_case *c = &cases[*case_count];
        if (sscanf(line, "model %63s %d", m->name, &m->heads) == 2) {
            snprintf(m->file, sizeof m->file, "%s.pth", m->name);
            (*model_count)++;
        } else if (sscanf(line, "layout %63s %127s", l->name, l->file) == 2) {
            (*layout_count)++;
        } else if (sscanf(line, "case %95s %63s %d %d %d %d %15s %7s", c->id, c->model, &c->b, &c->h, &c->w, &c->stride,
                          c->variant, c->cover) == 8) {
            (*case_count)++;
        }
    }
    fclose(manifest);
    return 0;
}

static model_entry models[16], layouts[32];
static model_case cases[64];
static int model_count, layout_count, case_count;

static int heads_of(const char *name) {
    for (int i = 0; i < model_count; i++)
        if (strcmp(models[i].name, name) == 0) return models[i].heads;
    return 0;
}

START_TEST(test_every_case_matches_the_reference) {
    read_manifest(models, &model_count, layouts, &layout_count, cases, &case_count);
    ck_assert_int_ge(case_count, 12);
    for (int m = 0; m < model_count; m++) {
        df_model *model = open_model(models[m].file, models[m].heads);
        ck_assert_ok(df_model_set_str(model, DF_PARAM_MODEL_LAYERS, "0,1"));
        for (int i = 0; i < case_count; i++) {
            if (strcmp(cases[i].model, models[m].name) != 0) continue;
            df_forward *forward = run_case(model, &cases[i], DF_OUTPUT_ALL);
            compare_outputs(forward, &cases[i], models[m].file, 1e-5);
            df_forward_free(forward);
        }
        df_model_free(model);
    }
}
END_TEST

/* Every other layout of a model gives the official file's features: identical bits. */
START_TEST(test_every_layout_matches_the_official_file) {
    read_manifest(models, &model_count, layouts, &layout_count, cases, &case_count);
    ck_assert_int_ge(layout_count, 10);
    for (int l = 0; l < layout_count; l++) {
        int heads = heads_of(layouts[l].name);
        char official_file[200];
        snprintf(official_file, sizeof official_file, "%.63s.pth", layouts[l].name);
        df_model *official = open_model(official_file, heads), *other = open_model(layouts[l].file, heads);
        for (int i = 0; i < case_count; i++) {
            char wide_id[96];
            snprintf(wide_id, sizeof wide_id, "%.63s_wide", layouts[l].name);
            if (strcmp(cases[i].id, wide_id) != 0) continue;
            /* The _wide cases use the official default variant: AUTO must pick it in every layout. */
            df_forward *a = run_case_with(official, &cases[i], DF_OUTPUT_ALL & ~DF_OUTPUT_LAYERS, 1);
            df_forward *b = run_case_with(other, &cases[i], DF_OUTPUT_ALL & ~DF_OUTPUT_LAYERS, 1);
            compare_outputs(b, &cases[i], layouts[l].file, 1e-5);
            for (unsigned bit = 1; bit < DF_OUTPUT_LAYERS; bit <<= 1) {
                const df_tensor *x, *y;
                ck_assert_ok(df_forward_output(a, (df_output)bit, &x));
                ck_assert_ok(df_forward_output(b, (df_output)bit, &y));
                size_t nx, ny;
                float *vx = tensor_values(x, &nx), *vy = tensor_values(y, &ny);
                ck_assert_uint_eq(nx, ny);
                ck_assert_msg(nx == 0 || memcmp(vx, vy, nx * sizeof(float)) == 0, "%s differs from %s in output %u",
                              layouts[l].file, official_file, bit);
                free(vx);
                free(vy);
            }
            df_forward_free(a);
            df_forward_free(b);
        }
        df_model_free(official);
        df_model_free(other);
    }
}
END_TEST

START_TEST(test_info_reports_the_architecture) {
    df_model *model = open_model("dinov2_s14_reg4_timm.safetensors", 2);
    int64_t value;
    const char *text;
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_PATCH, &value));
    ck_assert_int_eq(value, 14);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_DIM, &value));
    ck_assert_int_eq(value, 16);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_DEPTH, &value));
    ck_assert_int_eq(value, 2);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_HEADS, &value));
    ck_assert_int_eq(value, 2);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_REGISTERS, &value));
    ck_assert_int_eq(value, 4);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_POS_GRID, &value));
    ck_assert_int_eq(value, 4);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_LAYERSCALE, &value));
    ck_assert_int_eq(value, 1);
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_STRIDE, &value));
    ck_assert_int_eq(value, 14);
    /* The official checkpoint's parameter count, computed by torch: sum(p.numel()) less mask_token. */
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_PARAMETERS, &value));
    ck_assert_int_eq(value, 16 + 17 * 16 + 4 * 16 + (16 * 3 * 14 * 14 + 16) + 2 * 16 +
                                2 * (4 * 16 + (3 * 16 * 16 + 48) + (16 * 16 + 16) + (64 * 16 + 64 + 16 * 64 + 16) + 2 * 16));
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_FAMILY, &text));
    ck_assert_str_eq(text, "dinov2");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_LAYOUT, &text));
    ck_assert_str_eq(text, "timm");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_POS_INTERP, &text));
    ck_assert_str_eq(text, "size_aa"); /* registers: the official default, whatever the layout */
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_SIZE, &text));
    ck_assert_str_eq(text, "custom");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_PRECISION, &text));
    ck_assert_str_eq(text, "float32");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_DEVICE, &text));
    ck_assert_str_eq(text, "cpu");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_MLP, &text));
    ck_assert_str_eq(text, "gelu");
    ck_assert_fails_with(df_model_info_int(model, DF_MODEL_INFO_FAMILY, &value), DF_E_UNSUPPORTED, "df_model_info_int");
    ck_assert_fails_with(df_model_info_str(model, DF_MODEL_INFO_DIM, &text), DF_E_UNSUPPORTED, "df_model_info_str");
    ck_assert_fails_with(df_model_info_int(NULL, DF_MODEL_INFO_DIM, &value), DF_E_INVALID_ARG, "df_model_info_int");
    ck_assert_fails_with(df_model_info_str(model, DF_MODEL_INFO_FAMILY, NULL), DF_E_INVALID_ARG, "df_model_info_str");
    df_model_free(model);

    model = open_model("dino_s8_checkpoint.pth", 2);
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_FAMILY, &text));
    ck_assert_str_eq(text, "dino");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_LAYOUT, &text));
    ck_assert_str_eq(text, "training-checkpoint");
    df_model_free(model);
    model = open_model("dinov2_g14_hf.safetensors", 2);
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_MLP, &text));
    ck_assert_str_eq(text, "swiglu");
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_LAYOUT, &text));
    ck_assert_str_eq(text, "huggingface");
    df_model_free(model);
}
END_TEST

START_TEST(test_student_and_half_precision_files) {
    /* The student of the training checkpoint is the teacher + 1 everywhere: different features. */
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_options_set_str(options, DF_PARAM_MODEL_CHECKPOINT, "student"));
    df_model *student = NULL, *teacher = open_model("dino_s8_checkpoint.pth", 2);
    ck_assert_ok(df_model_open(MODEL_DIR "dino_s8_checkpoint.pth", NULL, options, &student));
    model_case c = {.id = "x", .variant = "offset", .cover = "crop", .b = 1, .h = 32, .w = 32};
    df_forward *a = run_case(teacher, &c, DF_OUTPUT_CLS), *b = run_case(student, &c, DF_OUTPUT_CLS);
    const df_tensor *x, *y;
    ck_assert_ok(df_forward_output(a, DF_OUTPUT_CLS, &x));
    ck_assert_ok(df_forward_output(b, DF_OUTPUT_CLS, &y));
    size_t n;
    float *vx = tensor_values(x, &n), *vy = tensor_values(y, &n);
    ck_assert_double_gt(relative_error(vx, vy, n), 1e-3);
    free(vx);
    free(vy);
    df_forward_free(a);
    df_forward_free(b);
    df_model_free(student);
    ck_assert_ok(df_options_set_str(options, DF_PARAM_MODEL_CHECKPOINT, "nobody"));
    ck_assert_fails_with(df_model_open(MODEL_DIR "dino_s8_checkpoint.pth", NULL, options, &student), DF_E_FORMAT,
                         "df_model_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "'nobody'"));
    df_options_free(options);
    df_model_free(teacher);

    /* float16 weights on disk: features within float16's rounding of the float32 model's. */
    df_model *half = open_model("dinov2_s14_f16.safetensors", 2), *full = open_model("dinov2_s14.pth", 2);
    model_case wide = {.id = "w", .variant = "offset", .cover = "crop", .b = 1, .h = 42, .w = 70};
    a = run_case(full, &wide, DF_OUTPUT_PATCH);
    b = run_case(half, &wide, DF_OUTPUT_PATCH);
    ck_assert_ok(df_forward_output(a, DF_OUTPUT_PATCH, &x));
    ck_assert_ok(df_forward_output(b, DF_OUTPUT_PATCH, &y));
    vx = tensor_values(x, &n);
    vy = tensor_values(y, &n);
    ck_assert_double_lt(relative_error(vy, vx, n), 1e-2);
    free(vx);
    free(vy);
    df_forward_free(b);
    df_model_free(half);

    /* bfloat16 compute on the CPU: outputs come back as bfloat16, close to float32's. */
    df_options *bf16 = NULL;
    ck_assert_ok(df_options_new(&bf16));
    ck_assert_ok(df_options_set_int(bf16, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_options_set_int(bf16, DF_PARAM_MODEL_PRECISION, DF_DTYPE_BFLOAT16));
    df_model *brain = NULL;
    ck_assert_ok(df_model_open(MODEL_DIR "dinov2_s14.pth", NULL, bf16, &brain));
    const char *precision;
    ck_assert_ok(df_model_info_str(brain, DF_MODEL_INFO_PRECISION, &precision));
    ck_assert_str_eq(precision, "bfloat16");
    b = run_case(brain, &wide, DF_OUTPUT_PATCH);
    ck_assert_ok(df_forward_output(b, DF_OUTPUT_PATCH, &y));
    ck_assert_int_eq(df_tensor_dtype(y), DF_DTYPE_BFLOAT16);
    vx = tensor_values(x, &n);
    vy = tensor_values(y, &n);
    ck_assert_double_lt(relative_error(vy, vx, n), 1e-1);
    free(vx);
    free(vy);
    df_forward_free(a);
    df_forward_free(b);
    df_model_free(brain);
    df_options_free(bf16);
    df_model_free(full);
}
END_TEST

START_TEST(test_chunked_attention_equals_unchunked) {
    df_model *model = open_model("dinov2_s14.pth", 2);
    model_case c = {.id = "s4", .variant = "offset", .cover = "crop", .b = 1, .h = 46, .w = 60, .stride = 4};
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_ATTN_CHUNK, -1));
    df_forward *whole = run_case(model, &c, DF_OUTPUT_ALL & ~DF_OUTPUT_LAYERS);
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_ATTN_CHUNK, 7));
    df_forward *chunked = run_case(model, &c, DF_OUTPUT_ALL & ~DF_OUTPUT_LAYERS);
    for (unsigned bit = 1; bit < DF_OUTPUT_LAYERS; bit <<= 1) {
        const df_tensor *x, *y;
        ck_assert_ok(df_forward_output(whole, (df_output)bit, &x));
        ck_assert_ok(df_forward_output(chunked, (df_output)bit, &y));
        size_t n;
        float *vx = tensor_values(x, &n), *vy = tensor_values(y, &n);
        if (n) ck_assert_msg(relative_error(vy, vx, n) <= 1e-6, "output %u: %.3g", bit, relative_error(vy, vx, n));
        free(vx);
        free(vy);
    }
    df_forward_free(whole);
    df_forward_free(chunked);
    df_model_free(model);
}
END_TEST

START_TEST(test_malformed_checkpoints_are_refused) {
    /* unknown_global.pth's pickle, if it ran, would write the file DINOFEAT_EXPLOIT_MARKER names:
     * a fresh path of this run's, so nothing left by another run can fail this one */
    char exploit_marker[] = "/tmp/dinofeat_exploit_XXXXXX";
    const int marker_fd = mkstemp(exploit_marker);
    ck_assert_int_ge(marker_fd, 0);
    close(marker_fd);
    ck_assert_int_eq(unlink(exploit_marker), 0);
    ck_assert_int_eq(setenv("DINOFEAT_EXPLOIT_MARKER", exploit_marker, 1), 0);
    FILE *manifest = fopen(MODEL_DIR "manifest.txt", "r");
    char line[512], file[128], status_name[32], path[256];
    int refused = 0;
    while (fgets(line, sizeof line, manifest)) {
        if (sscanf(line, "bad %127s %31s", file, status_name) != 2) continue;
        snprintf(path, sizeof path, MODEL_DIR "%s", file);
        df_model *model = (df_model *)(uintptr_t)1;
        df_status expected = strcmp(status_name, "DF_E_UNSUPPORTED") == 0 ? DF_E_UNSUPPORTED : DF_E_FORMAT;
        ck_assert_fails_with(df_model_open(path, NULL, NULL, &model), expected, "df_model_open");
        ck_assert_ptr_null(model);
        ck_assert_msg(strstr(df_last_error_message(), file) != NULL, "message '%s' does not name the file",
                      df_last_error_message());
        refused++;
    }
    fclose(manifest);
    ck_assert_int_ge(refused, 15);
    FILE *exploit = fopen(exploit_marker, "r");
    ck_assert_msg(exploit == NULL, "a pickle global was executed");
}
END_TEST

START_TEST(test_model_argument_errors) {
    df_model *model = NULL;
    ck_assert_fails_with(df_model_open(NULL, NULL, NULL, &model), DF_E_INVALID_ARG, "df_model_open");
    ck_assert_fails_with(df_model_open(MODEL_DIR "dino_s8.pth", NULL, NULL, NULL), DF_E_INVALID_ARG, "df_model_open");
    ck_assert_fails_with(df_model_open(MODEL_DIR "missing.pth", NULL, NULL, &model), DF_E_IO, "df_model_open");
    ck_assert_fails_with(df_model_open(MODEL_DIR "dino_s8.pth", "cuda:63", NULL, &model), DF_E_UNSUPPORTED, "df_model_open");
    ck_assert_fails_with(df_model_open(MODEL_DIR "dino_s8.pth", "gpu", NULL, &model), DF_E_INVALID_ARG, "df_model_open");
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_MODEL_PRECISION, DF_DTYPE_FLOAT16));
    ck_assert_fails_with(df_model_open(MODEL_DIR "dino_s8.pth", "cpu", options, &model), DF_E_UNSUPPORTED, "df_model_open");
    df_options_free(options);
    ck_assert_ptr_null(model);

    /* dim 16 is no multiple of 64: the heads must be given before a forward pass. */
    ck_assert_ok(df_model_open(MODEL_DIR "dino_s8.pth", NULL, NULL, &model));
    const int64_t shape[4] = {1, 3, 32, 32}, bad_shape[3] = {3, 32, 32}, tiny[4] = {1, 3, 7, 32};
    df_tensor *images = NULL, *wrong = NULL, *small = NULL;
    ck_assert_ok(df_tensor_new(4, shape, DF_DTYPE_FLOAT32, "cpu", &images));
    ck_assert_ok(df_tensor_new(3, bad_shape, DF_DTYPE_FLOAT32, "cpu", &wrong));
    ck_assert_ok(df_tensor_new(4, tiny, DF_DTYPE_FLOAT32, "cpu", &small));
    df_forward *forward = NULL;
    ck_assert_fails_with(df_model_forward(model, images, DF_OUTPUT_PATCH, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "model.heads"));
    ck_assert_fails_with(df_model_set_int(model, DF_PARAM_MODEL_HEADS, 3), DF_E_INVALID_ARG, "df_model_set_int");
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_fails_with(df_model_forward(model, wrong, DF_OUTPUT_PATCH, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(model, small, DF_OUTPUT_PATCH, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(model, images, 0, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(model, images, 1024, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(model, images, DF_OUTPUT_LAYERS, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(NULL, images, DF_OUTPUT_PATCH, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(model, NULL, DF_OUTPUT_PATCH, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_fails_with(df_model_forward(model, images, DF_OUTPUT_PATCH, NULL), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_ptr_null(forward);
    ck_assert_fails_with(df_model_set_int(model, DF_PARAM_MODEL_STRIDE, 9), DF_E_INVALID_ARG, "df_model_set_int");
    ck_assert_fails_with(df_model_set_int(model, DF_PARAM_MODEL_PRECISION, 1), DF_E_INVALID_ARG, "df_model_set_int");
    ck_assert_fails_with(df_model_set_int(model, DF_PARAM_IMAGE_MAX_PIXELS, 1), DF_E_UNSUPPORTED, "df_model_set_int");
    ck_assert_fails_with(df_model_set_int(model, DF_PARAM_MODEL_POS_INTERP, 4), DF_E_INVALID_ARG, "df_model_set_int");
    ck_assert_fails_with(df_model_set_int(NULL, DF_PARAM_MODEL_STRIDE, 4), DF_E_INVALID_ARG, "df_model_set_int");
    ck_assert_fails_with(df_model_set_str(model, DF_PARAM_MODEL_LAYERS, "0,7"), DF_E_INVALID_ARG, "df_model_set_str");
    ck_assert_fails_with(df_model_set_str(model, DF_PARAM_MODEL_LAYERS, "x"), DF_E_INVALID_ARG, "df_model_set_str");
    ck_assert_fails_with(df_model_set_str(model, DF_PARAM_MODEL_CHECKPOINT, "student"), DF_E_INVALID_ARG, "df_model_set_str");
    ck_assert_fails_with(df_model_set_str(model, DF_PARAM_MODEL_LAYERS, NULL), DF_E_INVALID_ARG, "df_model_set_str");
    ck_assert_ok(df_model_set_str(model, DF_PARAM_MODEL_LAYERS, "-1"));
    const char *layers;
    ck_assert_ok(df_model_get_str(model, DF_PARAM_MODEL_LAYERS, &layers));
    ck_assert_str_eq(layers, "-1");
    ck_assert_fails_with(df_model_get_str(NULL, DF_PARAM_MODEL_LAYERS, &layers), DF_E_INVALID_ARG, "df_model_get_str");
    int64_t value;
    ck_assert_ok(df_model_get_int(model, DF_PARAM_MODEL_HEADS, &value));
    ck_assert_int_eq(value, 2);
    ck_assert_fails_with(df_model_get_int(model, DF_PARAM_MODEL_HEADS, NULL), DF_E_INVALID_ARG, "df_model_get_int");

    ck_assert_ok(df_model_forward(model, images, DF_OUTPUT_PATCH | DF_OUTPUT_LAYERS, &forward));
    const df_tensor *out = NULL;
    ck_assert_fails_with(df_forward_output(forward, DF_OUTPUT_CLS, &out), DF_E_INVALID_ARG, "df_forward_output");
    ck_assert_fails_with(df_forward_output(forward, DF_OUTPUT_PATCH | DF_OUTPUT_CLS, &out), DF_E_INVALID_ARG, "df_forward_output");
    ck_assert_fails_with(df_forward_output(NULL, DF_OUTPUT_PATCH, &out), DF_E_INVALID_ARG, "df_forward_output");
    ck_assert_ok(df_forward_output(forward, DF_OUTPUT_PATCH, &out));
    int64_t dims[4];
    ck_assert_ok(df_tensor_shape(out, dims, 4));
    ck_assert(dims[0] == 1 && dims[1] == 4 && dims[2] == 4 && dims[3] == 16);
    ck_assert_uint_eq(df_forward_layer_count(forward), 1);
    ck_assert_uint_eq(df_forward_layer_count(NULL), 0);
    ck_assert_ok(df_forward_layer(forward, 0, &out));
    ck_assert_fails_with(df_forward_layer(forward, 1, &out), DF_E_INVALID_ARG, "df_forward_layer");
    ck_assert_fails_with(df_forward_layer(NULL, 0, &out), DF_E_INVALID_ARG, "df_forward_layer");
    df_forward_free(forward);
    df_forward_free(NULL);
    df_tensor_free(images);
    df_tensor_free(wrong);
    df_tensor_free(small);
    df_model_free(model);
    df_model_free(NULL);
}
END_TEST

/* On a GPU: the same features in float32 (within GPU kernels' rounding), and bfloat16 close. */
START_TEST(test_cuda_forward_when_available) {
    int available = 0;
    ck_assert_ok(df_device_available("cuda", &available));
    ck_assert_msg(available || getenv("DINOFEAT_REQUIRE_CUDA") == NULL, "CUDA required but not available");
    if (!available) return;
    read_manifest(models, &model_count, layouts, &layout_count, cases, &case_count);
    for (int precision = DF_DTYPE_FLOAT32; precision <= DF_DTYPE_BFLOAT16; precision++) {
        df_options *options = NULL;
        ck_assert_ok(df_options_new(&options));
        ck_assert_ok(df_options_set_int(options, DF_PARAM_MODEL_HEADS, 2));
        ck_assert_ok(df_options_set_int(options, DF_PARAM_MODEL_PRECISION, precision));
        for (int m = 0; m < model_count; m++) {
            char path[256];
            snprintf(path, sizeof path, MODEL_DIR "%s", models[m].file);
            df_model *model = NULL;
            ck_assert_ok(df_model_open(path, "cuda", options, &model));
            const char *device;
            ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_DEVICE, &device));
            ck_assert_str_eq(device, "cuda:0");
            for (int i = 0; i < case_count; i++) {
                if (strcmp(cases[i].model, models[m].name) != 0) continue;
                df_forward *forward = run_case(model, &cases[i], DF_OUTPUT_ALL & ~DF_OUTPUT_LAYERS);
                /* bfloat16 keeps 8 bits of mantissa: about 1e-2 after a few blocks. */
                compare_outputs(forward, &cases[i], precision == DF_DTYPE_FLOAT32 ? "cuda float32" : "cuda other",
                                precision == DF_DTYPE_FLOAT32 ? 1e-5 : 1e-1);
                df_forward_free(forward);
            }
            df_model_free(model);
        }
        df_options_free(options);
    }
}
END_TEST

/* A safetensors file of the given header (padded to 8 bytes) and data_size zero bytes. */
static void write_safetensors(const char *path, const char *header, size_t data_size) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    size_t length = strlen(header);
    const size_t padded = (length + 7) / 8 * 8;
    const uint64_t stored = padded;
    ck_assert_uint_eq(fwrite(&stored, 8, 1, f), 1);
    ck_assert_uint_eq(fwrite(header, 1, length, f), length);
    for (; length < padded; length++) fputc(' ', f);
    for (size_t i = 0; i < data_size; i++) fputc(0, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The format requires tensors' byte ranges to be disjoint and to tile the data section. */
START_TEST(test_safetensors_ranges_must_tile_the_data) {
    char root[] = "/tmp/dinofeat_ranges_XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(path, sizeof path, "%s/m.safetensors", root);
    static const struct { const char *header, *message; size_t data; } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "overlap", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", "overlap", 12},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", "data bytes [8, 12) belong to no tensor", 20},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "data bytes [8, 16) belong to no tensor", 16},
        {"{\"__metadata__\":{\"dinofeat.heads\":\"two\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         "dinofeat.heads", 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_safetensors(path, cases[i].header, cases[i].data);
        df_model *model = NULL;
        ck_assert_fails_with(df_model_open(path, NULL, NULL, &model), DF_E_FORMAT, "df_model_open");
        ck_assert_msg(strstr(df_last_error_message(), cases[i].message) != NULL, "case %zu: '%s' lacks '%s'", i,
                      df_last_error_message(), cases[i].message);
        ck_assert_ptr_null(model);
    }
    remove_tree(root);
}
END_TEST

/* Heads: model.heads, else what the file records, else dim / 64 for multiples of 64, else unknown
 * (0), which a forward pass refuses naming model.heads. */
START_TEST(test_heads_come_from_the_file_or_the_parameter) {
    df_model *model;
    int64_t heads = -1;
    ck_assert_ok(df_model_open("../examples/data/tiny-dinov2-s14-reg4.safetensors", NULL, NULL, &model));
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_HEADS, &heads));
    ck_assert_int_eq(heads, 2);
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_HEADS, 4)); /* the parameter wins */
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_HEADS, &heads));
    ck_assert_int_eq(heads, 4);
    df_model_free(model);
    ck_assert_ok(df_model_open("fixtures/models/dino_s8.pth", NULL, NULL, &model));
    ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_HEADS, &heads));
    ck_assert_int_eq(heads, 0); /* dim 16, nothing recorded: not 16 / 64 rounded down */
    const int64_t shape[4] = {1, 3, 16, 16};
    df_tensor *x;
    ck_assert_ok(df_tensor_new(4, shape, DF_DTYPE_FLOAT32, NULL, &x));
    df_forward *forward = NULL;
    ck_assert_fails_with(df_model_forward(model, x, DF_OUTPUT_PATCH, &forward), DF_E_INVALID_ARG, "df_model_forward");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "model.heads"));
    df_tensor_free(x);
    df_model_free(model);
}
END_TEST

/* The CPU's flags read from /proc/cpuinfo, independently of the library's detection. */
static int cpu_has_flag(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0)
            for (char *word = strtok(line, " \t\n"); word && !found; word = strtok(NULL, " \t\n"))
                found = strcmp(word, flag) == 0;
    if (f) fclose(f);
    return found;
}

START_TEST(test_inference_precision_follows_the_cpu) {
    df_dtype dtype = DF_DTYPE_INT32;
    const char *reason = NULL;
    ck_assert_ok(df_inference_precision(NULL, &dtype, &reason));
    const int bf16 = cpu_has_flag("avx512_bf16") && cpu_has_flag("avx512f");
    ck_assert_int_eq(dtype, bf16 ? DF_DTYPE_BFLOAT16 : DF_DTYPE_FLOAT32);
    ck_assert_ptr_nonnull(strstr(reason, "AVX512-BF16"));
    ck_assert_ok(df_inference_precision("cpu", &dtype, NULL));
    ck_assert_int_eq(dtype, bf16 ? DF_DTYPE_BFLOAT16 : DF_DTYPE_FLOAT32);
    /* CUDA keeps float32 whether or not a GPU is there: the choice is the figures', not the card's */
    ck_assert_ok(df_inference_precision("cuda:3", &dtype, &reason));
    ck_assert_int_eq(dtype, DF_DTYPE_FLOAT32);
    ck_assert_ptr_nonnull(strstr(reason, "CUDA"));
    ck_assert_fails_with(df_inference_precision("gpu", &dtype, NULL), DF_E_INVALID_ARG, "df_inference_precision");
    ck_assert_fails_with(df_inference_precision(NULL, NULL, NULL), DF_E_INVALID_ARG, "df_inference_precision");
    /* a model opened with the choice runs in it */
    df_options *o;
    df_model *model;
    const char *precision;
    ck_assert_ok(df_inference_precision(NULL, &dtype, NULL));
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_PRECISION, dtype));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_model_open(MODEL_DIR "dino_s8.pth", NULL, o, &model));
    ck_assert_ok(df_model_info_str(model, DF_MODEL_INFO_PRECISION, &precision));
    ck_assert_str_eq(precision, bf16 ? "bfloat16" : "float32");
    df_model_free(model);
    df_options_free(o);
}
END_TEST

/* Forwards on two threads at once share the kept CPU blocks (one store, under a lock): each
 * thread's results equal the main thread's (to float32 rounding: a BLAS called from two threads
 * at once may split its work otherwise). */
typedef struct concurrent_forward {
    df_model *model;
    df_tensor *x;
    const float *expected;
    size_t count;
    int equal;
} concurrent_forward;

static void *forward_three_times(void *argument) {
    concurrent_forward *c = argument;
    float *got = malloc(c->count * sizeof *got);
    c->equal = got != NULL;
    for (int run = 0; c->equal && run < 3; run++) {
        df_forward *forward = NULL;
        const df_tensor *tokens = NULL;
        c->equal = df_model_forward(c->model, c->x, DF_OUTPUT_PATCH, &forward) == DF_OK &&
                   df_forward_output(forward, DF_OUTPUT_PATCH, &tokens) == DF_OK &&
                   df_tensor_copy_to_host(tokens, got, c->count) == DF_OK &&
                   relative_error(got, c->expected, c->count) <= 1e-5; /* float32 sums in another order at most */
        df_forward_free(forward);
    }
    free(got);
    return NULL;
}

START_TEST(test_kept_blocks_are_shared_by_concurrent_forwards) {
    const int64_t shape[4] = {1, 3, 256, 256};
    df_tensor *x = NULL;
    ck_assert_ok(df_tensor_new(4, shape, DF_DTYPE_FLOAT32, NULL, &x));
    df_model *models[2] = {open_model("dino_s8.pth", 2), open_model("dino_s8.pth", 2)};
    df_forward *forward = NULL;
    const df_tensor *tokens = NULL;
    ck_assert_ok(df_model_forward(models[0], x, DF_OUTPUT_PATCH, &forward));
    ck_assert_ok(df_forward_output(forward, DF_OUTPUT_PATCH, &tokens));
    const size_t count = (size_t)df_tensor_numel(tokens);
    float *expected = malloc(count * sizeof *expected);
    ck_assert_ok(df_tensor_copy_to_host(tokens, expected, count));
    df_forward_free(forward);
    concurrent_forward work[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        work[i] = (concurrent_forward){models[i], x, expected, count, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, forward_three_times, &work[i]), 0);
    }
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    ck_assert_msg(work[0].equal && work[1].equal, "a concurrent forward differs from the main thread's");
    free(expected);
    df_model_free(models[0]), df_model_free(models[1]);
    df_tensor_free(x);
}
END_TEST

/* The CPU blocks a forward frees are kept (df_memory_cached) and reused by the next forward of
 * the same shape, so the kept bytes do not grow; the results are the same; df_memory_release
 * empties the store. */
START_TEST(test_freed_blocks_are_kept_reused_and_released) {
    df_model *model = open_model("dino_s8.pth", 2);
    const int64_t shape[4] = {1, 3, 256, 256}; /* 1,025 tokens: blocks above the 64 KB threshold */
    df_tensor *x = NULL;
    ck_assert_ok(df_tensor_new(4, shape, DF_DTYPE_FLOAT32, NULL, &x));
    ck_assert_ok(df_memory_release());
    size_t kept[2] = {0, 0}, none = 1;
    ck_assert_ok(df_memory_cached(&none));
    ck_assert_uint_eq(none, 0);
    float *patch[2] = {NULL, NULL};
    size_t count = 0;
    for (int run = 0; run < 2; run++) {
        df_forward *forward = NULL;
        const df_tensor *tokens = NULL;
        ck_assert_ok(df_model_forward(model, x, DF_OUTPUT_PATCH, &forward));
        ck_assert_ok(df_forward_output(forward, DF_OUTPUT_PATCH, &tokens));
        count = (size_t)df_tensor_numel(tokens);
        patch[run] = malloc(count * sizeof(float));
        ck_assert_ok(df_tensor_copy_to_host(tokens, patch[run], count));
        df_forward_free(forward);
        ck_assert_ok(df_memory_cached(&kept[run]));
    }
    ck_assert_uint_gt(kept[0], 0);
    ck_assert_uint_eq(kept[1], kept[0]);
    ck_assert_mem_eq(patch[0], patch[1], count * sizeof(float));
    ck_assert_ok(df_memory_release());
    ck_assert_ok(df_memory_cached(&none));
    ck_assert_uint_eq(none, 0);
    ck_assert_fails_with(df_memory_cached(NULL), DF_E_INVALID_ARG, "df_memory_cached");
    free(patch[0]), free(patch[1]);
    df_tensor_free(x);
    df_model_free(model);
}
END_TEST

Suite *model_suite(void) {
    Suite *suite = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_every_case_matches_the_reference);
    tcase_add_test(tc, test_freed_blocks_are_kept_reused_and_released);
    tcase_add_test(tc, test_kept_blocks_are_shared_by_concurrent_forwards);
    tcase_add_test(tc, test_every_layout_matches_the_official_file);
    tcase_add_test(tc, test_info_reports_the_architecture);
    tcase_add_test(tc, test_student_and_half_precision_files);
    tcase_add_test(tc, test_chunked_attention_equals_unchunked);
    tcase_add_test(tc, test_malformed_checkpoints_are_refused);
    tcase_add_test(tc, test_model_argument_errors);
    tcase_add_test(tc, test_safetensors_ranges_must_tile_the_data);
    tcase_add_test(tc, test_heads_come_from_the_file_or_the_parameter);
    tcase_add_test(tc, test_cuda_forward_when_available);
    tcase_add_test(tc, test_inference_precision_follows_the_cpu);
    suite_add_tcase(suite, tc);
    return suite;
}
