/* Files written and outputs computed by the official code itself (facebookresearch/dinov2's
 * DinoVisionTransformer, Hugging Face's Dinov2Model family and ViTModel, timm's ViTs; see
 * test/reference/make_official_fixtures.py): the loader must read each as written, and the forward
 * pass must give the official features. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define OFFICIAL_DIR "fixtures/official/"

typedef struct official_case {
    char id[96], file[128], variant[16];
    int heads, b, h, w;
} official_case;

static df_pos_interp variant_named(const char *name) {
    if (strcmp(name, "offset") == 0) return DF_POS_INTERP_OFFSET;
    if (strcmp(name, "size_aa") == 0) return DF_POS_INTERP_SIZE_AA;
    ck_assert_str_eq(name, "size");
    return DF_POS_INTERP_SIZE;
}

static df_output output_named(const char *name) {
    if (strcmp(name, "cls") == 0) return DF_OUTPUT_CLS;
    if (strcmp(name, "registers") == 0) return DF_OUTPUT_REGISTERS;
    ck_assert_str_eq(name, "patch");
    return DF_OUTPUT_PATCH;
}

/* Every "out" line of the case against the forward pass: max |ours - official| over max |official|
 * within the float32 forward tolerance (another BLAS, another summation order). */
static int compare_outputs(const df_forward *forward, const official_case *c) {
    FILE *manifest = fopen(OFFICIAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[512], id[96], name[32], file[160];
    int compared = 0;
    while (fgets(line, sizeof line, manifest)) {
        if (sscanf(line, "out %95s %31s %159s", id, name, file) != 3 || strcmp(id, c->id) != 0) continue;
        const df_tensor *tensor = NULL;
        ck_assert_ok(df_forward_output(forward, output_named(name), &tensor));
        size_t size;
        float *want = (float *)read_fixture_from(OFFICIAL_DIR, file, &size);
        const size_t count = (size_t)df_tensor_numel(tensor);
        ck_assert_msg(size == count * sizeof(float), "%s %s: %zu values, the official output has %zu", c->id, name,
                      count, size / sizeof(float));
        float *got = malloc(count * sizeof *got);
        ck_assert_ok(df_tensor_copy_to_host(tensor, got, count));
        double worst = 0, scale = 0;
        for (size_t i = 0; i < count; i++) {
            worst = fmax(worst, fabs((double)got[i] - want[i]));
            scale = fmax(scale, fabs((double)want[i]));
        }
        ck_assert_msg(worst <= F32_FORWARD_RTOL * scale, "%s %s: largest difference %.3g of scale %.3g", c->id, name,
                      worst, scale);
        free(got), free(want);
        compared++;
    }
    fclose(manifest);
    return compared;
}

START_TEST(test_official_files_give_the_official_features) {
    FILE *manifest = fopen(OFFICIAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[512];
    int cases = 0, outputs = 0;
    while (fgets(line, sizeof line, manifest)) {
        official_case c;
        if (sscanf(line, "official %95s %127s %d %d %d %d %15s", c.id, c.file, &c.heads, &c.b, &c.h, &c.w,
                   c.variant) != 7)
            continue;
        char path[256];
        snprintf(path, sizeof path, OFFICIAL_DIR "%s", c.file);
        df_options *options = NULL;
        ck_assert_ok(df_options_new(&options));
        /* heads 0: Hugging Face folders, whose config.json beside the weights must give them */
        if (c.heads > 0) ck_assert_ok(df_options_set_int(options, DF_PARAM_MODEL_HEADS, c.heads));
        df_model *model = NULL;
        ck_assert_msg(df_model_open(path, "cpu", options, &model) == DF_OK, "%s: %s", c.file, df_last_error_message());
        df_options_free(options);
        ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_POS_INTERP, variant_named(c.variant)));
        df_tensor *input = fixture_images(c.b, c.h, c.w);
        df_forward *forward = NULL;
        ck_assert_msg(df_model_forward(model, input, DF_OUTPUT_PATCH | DF_OUTPUT_CLS | DF_OUTPUT_REGISTERS, &forward) ==
                          DF_OK,
                      "%s: %s", c.id, df_last_error_message());
        const int compared = compare_outputs(forward, &c);
        ck_assert_msg(compared >= 2, "case %s has %d outputs", c.id, compared);
        outputs += compared;
        df_forward_free(forward);
        df_tensor_free(input);
        df_model_free(model);
        cases++;
    }
    fclose(manifest);
    /* 3 dinov2 models x 2 sizes, 5 Hugging Face and 3 timm files */
    ck_assert_int_eq(cases, 14);
    ck_assert_int_ge(outputs, 2 * cases);
}
END_TEST

Suite *official_suite(void) {
    Suite *suite = suite_create("official");
    TCase *tc = tcase_create("official");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_official_files_give_the_official_features);
    suite_add_tcase(suite, tc);
    return suite;
}
