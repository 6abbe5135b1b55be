/* Differentiable sorting networks: a hand-computed two-element swap, the relaxed permutation's
 * properties, the gradient against finite differences, failure paths. (Every network, sigmoid and
 * size against the dense-matrix reference: bindings/python/tests/test_neco.py.) */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

static df_tensor *doubles(const double *values, size_t ndim, const int64_t *shape) {
    df_tensor *t;
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_new(ndim, shape, DF_DTYPE_FLOAT64, NULL, &t));
    ck_assert_ok(df_tensor_view_of(t, &view));
    memcpy((void *)view.data, values, (size_t)df_tensor_numel(t) * sizeof(double));
    return t;
}

static const double *data_of(const df_tensor *t) {
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_view_of(t, &view));
    return view.data;
}

/* x = (1, 0), logistic, steepness 1: alpha = sigma(0 - 1); min = alpha 1, max = 1 - alpha. */
START_TEST(test_diffsort_two_elements_by_hand) {
    const double x[2] = {1.0, 0.0};
    const int64_t shape[2] = {1, 2};
    df_tensor *values = doubles(x, 2, shape), *sorted, *p;
    ck_assert_ok(df_diffsort(values, DF_SORT_ODD_EVEN, DF_SORT_LOGISTIC, 1.0, &sorted, &p));
    const double alpha = 1.0 / (1.0 + exp(1.0));
    const double *s = data_of(sorted), *m = data_of(p);
    ck_assert_double_eq_tol(s[0], alpha, 1e-15);
    ck_assert_double_eq_tol(s[1], 1.0 - alpha, 1e-15);
    const double want[4] = {alpha, 1 - alpha, 1 - alpha, alpha}; /* P[i, p] */
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(m[i], want[i], 1e-15);
    df_tensor_free(sorted), df_tensor_free(p), df_tensor_free(values);
}
END_TEST

/* 3 rows of 49 distinct values: P doubly stochastic for every network and sigmoid; at steepness
 * 1e4 each input's heaviest position is its rank. The gradient of sum(g * sorted) + sum(G * P)
 * against central differences. */
START_TEST(test_diffsort_properties_and_gradient) {
    enum { R = 3, N = 49 };
    double x[R * N], g[R * N], big[R * N * N];
    for (int i = 0; i < R * N; i++) x[i] = (double)((i * 37) % (R * N)) / 7.0, g[i] = sin(i * 0.7);
    for (int i = 0; i < R * N * N; i++) big[i] = cos(i * 0.3);
    const int64_t shape[2] = {R, N}, pshape[3] = {R, N, N};
    df_tensor *values = doubles(x, 2, shape), *gs = doubles(g, 2, shape), *gp = doubles(big, 3, pshape);
    for (int network = 0; network < 2; network++)
        for (int sigmoid = 0; sigmoid <= DF_SORT_OPTIMAL; sigmoid++) {
            df_tensor *sorted, *p;
            ck_assert_ok(df_diffsort(values, network, sigmoid, 1.0, &sorted, &p));
            const double *m = data_of(p);
            for (int r = 0; r < R; r++)
                for (int i = 0; i < N; i++) {
                    double row = 0, column = 0;
                    for (int k = 0; k < N; k++) row += m[(r * N + i) * N + k], column += m[(r * N + k) * N + i];
                    ck_assert_double_eq_tol(row, 1.0, 1e-12);
                    ck_assert_double_eq_tol(column, 1.0, 1e-12);
                }
            df_tensor_free(sorted), df_tensor_free(p);
            ck_assert_ok(df_diffsort(values, network, sigmoid, 1e4, &sorted, &p));
            m = data_of(p);
            for (int r = 0; r < R; r++)
                for (int i = 0; i < N; i++) {
                    int best = 0, rank = 0;
                    for (int k = 0; k < N; k++) {
                        if (m[(r * N + i) * N + k] > m[(r * N + i) * N + best]) best = k;
                        rank += x[r * N + k] < x[r * N + i];
                    }
                    ck_assert_int_eq(best, rank);
                }
            df_tensor_free(sorted), df_tensor_free(p);
        }
    df_tensor *grad;
    ck_assert_ok(df_diffsort_backward(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 2.0, gs, gp, &grad));
    const double *d = data_of(grad);
    for (int i = 0; i < R * N; i += 17) { /* central differences of the same functional */
        double value[2];
        for (int side = 0; side < 2; side++) {
            double moved[R * N];
            memcpy(moved, x, sizeof moved);
            moved[i] += side ? -1e-6 : 1e-6;
            df_tensor *v = doubles(moved, 2, shape), *s, *p;
            ck_assert_ok(df_diffsort(v, DF_SORT_BITONIC, DF_SORT_CAUCHY, 2.0, &s, &p));
            const double *ss = data_of(s), *pp = data_of(p);
            value[side] = 0;
            for (int k = 0; k < R * N; k++) value[side] += g[k] * ss[k];
            for (int k = 0; k < R * N * N; k++) value[side] += big[k] * pp[k];
            df_tensor_free(v), df_tensor_free(s), df_tensor_free(p);
        }
        ck_assert_double_eq_tol(d[i], (value[0] - value[1]) / 2e-6, 1e-5 * fmax(1.0, fabs(d[i])));
    }
    df_tensor_free(grad), df_tensor_free(values), df_tensor_free(gs), df_tensor_free(gp);
}
END_TEST

START_TEST(test_diffsort_errors) {
    const double x[6] = {3, 1, 2, 0, 5, 4};
    const int64_t shape[2] = {2, 3}, flat[1] = {6}, wrong[2] = {3, 2};
    df_tensor *values = doubles(x, 2, shape), *line = doubles(x, 1, flat), *other = doubles(x, 2, wrong), *out = NULL;
    ck_assert_fails_with(df_diffsort(line, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, &out, NULL), DF_E_INVALID_ARG, "df_diffsort");
    ck_assert_ptr_null(out);
    ck_assert_fails_with(df_diffsort(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 0.0, &out, NULL), DF_E_INVALID_ARG, "df_diffsort");
    ck_assert_fails_with(df_diffsort(values, (df_sort_network)7, DF_SORT_CAUCHY, 1.0, &out, NULL), DF_E_INVALID_ARG,
                         "df_diffsort");
    ck_assert_fails_with(df_diffsort(values, DF_SORT_BITONIC, (df_sort_sigmoid)9, 1.0, &out, NULL), DF_E_INVALID_ARG,
                         "df_diffsort");
    ck_assert_fails_with(df_diffsort(NULL, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, &out, NULL), DF_E_INVALID_ARG, "df_diffsort");
    ck_assert_fails_with(df_diffsort(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, NULL, NULL), DF_E_INVALID_ARG, "df_diffsort");
    const int64_t ishape[2] = {2, 3};
    df_tensor *integers;
    ck_assert_ok(df_tensor_new(2, ishape, DF_DTYPE_INT64, NULL, &integers));
    ck_assert_fails_with(df_diffsort(integers, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, &out, NULL), DF_E_INVALID_ARG,
                         "df_diffsort");
    ck_assert_fails_with(df_diffsort_backward(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, other, NULL, &out),
                         DF_E_INVALID_ARG, "df_diffsort_backward");
    ck_assert_fails_with(df_diffsort_backward(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, NULL, values, &out),
                         DF_E_INVALID_ARG, "df_diffsort_backward");
    ck_assert_fails_with(df_diffsort_backward(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, NULL, NULL, NULL),
                         DF_E_INVALID_ARG, "df_diffsort_backward");
    ck_assert_ok(df_diffsort_backward(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, NULL, NULL, &out));
    for (int i = 0; i < 6; i++) ck_assert_double_eq(data_of(out)[i], 0.0); /* no upstream gradient: zero */
    df_tensor_free(out);
    ck_assert_ok(df_diffsort(values, DF_SORT_BITONIC, DF_SORT_CAUCHY, 1.0, &out, NULL)); /* values alone */
    ck_assert_int_eq(df_tensor_dtype(out), DF_DTYPE_FLOAT64);
    df_tensor_free(out), df_tensor_free(integers), df_tensor_free(values), df_tensor_free(line), df_tensor_free(other);
}
END_TEST

/* The loss of a small case: finite and positive, its gradient against central differences (float64),
 * the symmetric form larger than the one-direction one; failure paths. (Values and gradients
 * against the official code's computation: bindings/python/tests/test_neco.py.) */
START_TEST(test_neco_loss_gradient_and_errors) {
    enum { B = 2, Q = 3, R = 5, D = 4 };
    double s[B * Q * D], t[B * Q * D], r[B * R * D];
    for (int i = 0; i < B * Q * D; i++) s[i] = sin(1.3 * i), t[i] = s[i] + 0.2 * cos(0.7 * i);
    for (int i = 0; i < B * R * D; i++) r[i] = cos(0.9 * i + 0.4);
    const int64_t qs[3] = {B, Q, D}, rs[3] = {B, R, D};
    df_tensor *student = doubles(s, 3, qs), *teacher = doubles(t, 3, qs), *refs = doubles(r, 3, rs), *grad;
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_STEEPNESS, 10.0));
    double loss, symmetric;
    ck_assert_ok(df_neco_loss(student, teacher, refs, o, &loss, &grad));
    ck_assert(isfinite(loss) && loss > 0);
    const double *g = data_of(grad);
    for (int i = 0; i < B * Q * D; i += 5) {
        double value[2];
        for (int side = 0; side < 2; side++) {
            double moved[B * Q * D];
            memcpy(moved, s, sizeof moved);
            moved[i] += side ? -1e-6 : 1e-6;
            df_tensor *m = doubles(moved, 3, qs);
            ck_assert_ok(df_neco_loss(m, teacher, refs, o, &value[side], NULL));
            df_tensor_free(m);
        }
        ck_assert_double_eq_tol(g[i], (value[0] - value[1]) / 2e-6, 1e-6 * fmax(1.0, fabs(g[i])));
    }
    df_tensor_free(grad);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_SYMMETRIC, 1));
    ck_assert_ok(df_neco_loss(student, teacher, refs, o, &symmetric, NULL));
    ck_assert_double_gt(symmetric, loss);
    df_tensor *short_refs, *wrong;
    const int64_t other[3] = {B, R, D - 1}, fewer[3] = {B, Q - 1, D};
    short_refs = doubles(r, 3, other), wrong = doubles(t, 3, fewer);
    ck_assert_fails_with(df_neco_loss(student, teacher, short_refs, NULL, &loss, NULL), DF_E_INVALID_ARG, "df_neco_loss");
    ck_assert_fails_with(df_neco_loss(student, wrong, refs, NULL, &loss, NULL), DF_E_INVALID_ARG, "df_neco_loss");
    ck_assert_fails_with(df_neco_loss(student, teacher, refs, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_neco_loss");
    /* float32 at a steepness so high that P has exact zeros: the log is not finite, an error
     * rather than a NaN */
    float s32[B * Q * D], t32[B * Q * D], r32[B * R * D];
    for (int i = 0; i < B * Q * D; i++) s32[i] = (float)s[i], t32[i] = (float)t[i];
    for (int i = 0; i < B * R * D; i++) r32[i] = (float)r[i];
    df_tensor *s1, *t1, *r1;
    ck_assert_ok(df_tensor_from_host(s32, 3, qs, &s1));
    ck_assert_ok(df_tensor_from_host(t32, 3, qs, &t1));
    ck_assert_ok(df_tensor_from_host(r32, 3, rs, &r1));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_STEEPNESS, 1e12));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_SIGMOID, DF_SORT_OPTIMAL));
    ck_assert_fails_with(df_neco_loss(s1, t1, r1, o, &loss, &grad), DF_E_INTERNAL, "df_neco_loss");
    ck_assert_ptr_null(grad);
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "not finite"));
    df_tensor_free(s1), df_tensor_free(t1), df_tensor_free(r1);
    df_tensor_free(short_refs), df_tensor_free(wrong), df_options_free(o);
    df_tensor_free(student), df_tensor_free(teacher), df_tensor_free(refs);
}
END_TEST

Suite *neco_suite(void) {
    Suite *s = suite_create("neco");
    TCase *tc = tcase_create("sort");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_diffsort_two_elements_by_hand);
    tcase_add_test(tc, test_diffsort_properties_and_gradient);
    tcase_add_test(tc, test_diffsort_errors);
    tcase_add_test(tc, test_neco_loss_gradient_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
