/* Tensors (host, borrowed, libtorch-backed), views, conversions and devices; and the runtime
 * (threads, build information). These start libtorch, so they run without forking. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "check_common.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

START_TEST(test_from_host_copies_and_borrow_does_not) {
    float data[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    df_tensor *copy = NULL, *borrowed = NULL;
    ck_assert_ok(df_tensor_from_host(data, 2, shape, &copy));
    ck_assert_ok(df_tensor_borrow_host(data, 2, shape, &borrowed));
    data[0] = 100;
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_view_of(copy, &view));
    ck_assert_float_eq(((const float *)view.data)[0], 1);
    ck_assert_ok(df_tensor_view_of(borrowed, &view));
    ck_assert_ptr_eq(view.data, data);
    ck_assert_int_eq(view.ndim, 2);
    ck_assert_int_eq(view.shape[1], 3);
    ck_assert_int_eq(view.strides[0], 3);
    ck_assert_int_eq(view.strides[1], 1);
    ck_assert_int_eq(view.dtype, DF_DTYPE_FLOAT32);
    ck_assert_int_eq(view.device_type, DF_DEVICE_CPU);
    ck_assert_int_eq(view.device_id, 0);
    ck_assert_uint_eq(df_tensor_ndim(copy), 2);
    ck_assert_int_eq(df_tensor_numel(copy), 6);
    ck_assert_int_eq(df_tensor_dtype(copy), DF_DTYPE_FLOAT32);
    ck_assert_str_eq(df_tensor_device(copy), "cpu");
    df_tensor_free(copy);
    df_tensor_free(borrowed);
    df_tensor_free(NULL);
    ck_assert_uint_eq(df_tensor_ndim(NULL), 0);
    ck_assert_int_eq(df_tensor_numel(NULL), 0);
    ck_assert_int_eq(df_tensor_dtype(NULL), 0);
    ck_assert_ptr_null(df_tensor_device(NULL));
}
END_TEST

START_TEST(test_tensor_argument_errors) {
    float data[4] = {0};
    const int64_t shape[2] = {2, 2}, negative[2] = {2, -1}, huge[3] = {INT64_MAX / 4, INT64_MAX / 4, 8};
    const int64_t many[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    df_tensor *tensor = NULL;
    ck_assert_fails_with(df_tensor_from_host(data, 2, negative, &tensor), DF_E_INVALID_ARG, "df_tensor_from_host");
    ck_assert_fails_with(df_tensor_from_host(data, 3, huge, &tensor), DF_E_INVALID_ARG, "df_tensor_from_host");
    ck_assert_fails_with(df_tensor_from_host(data, 9, many, &tensor), DF_E_INVALID_ARG, "df_tensor_from_host");
    ck_assert_fails_with(df_tensor_from_host(NULL, 2, shape, &tensor), DF_E_INVALID_ARG, "df_tensor_from_host");
    ck_assert_fails_with(df_tensor_from_host(data, 2, NULL, &tensor), DF_E_INVALID_ARG, "df_tensor_from_host");
    ck_assert_fails_with(df_tensor_from_host(data, 2, shape, NULL), DF_E_INVALID_ARG, "df_tensor_from_host");
    ck_assert_fails_with(df_tensor_borrow_host(NULL, 2, shape, &tensor), DF_E_INVALID_ARG, "df_tensor_borrow_host");
    ck_assert_fails_with(df_tensor_borrow_host(data, 2, shape, NULL), DF_E_INVALID_ARG, "df_tensor_borrow_host");
    ck_assert_fails_with(df_tensor_new(2, shape, (df_dtype)99, "cpu", &tensor), DF_E_INVALID_ARG, "df_tensor_new");
    ck_assert_fails_with(df_tensor_new(2, shape, DF_DTYPE_FLOAT32, "gpu", &tensor), DF_E_INVALID_ARG, "df_tensor_new");
    ck_assert_fails_with(df_tensor_new(2, shape, DF_DTYPE_FLOAT32, "cuda:x", &tensor), DF_E_INVALID_ARG, "df_tensor_new");
    ck_assert_fails_with(df_tensor_new(2, shape, DF_DTYPE_FLOAT32, "cpu", NULL), DF_E_INVALID_ARG, "df_tensor_new");
    ck_assert_ptr_null(tensor);

    ck_assert_ok(df_tensor_from_host(data, 2, shape, &tensor));
    int64_t small[1];
    ck_assert_fails_with(df_tensor_shape(tensor, small, 1), DF_E_INVALID_ARG, "df_tensor_shape");
    ck_assert_fails_with(df_tensor_shape(NULL, small, 1), DF_E_INVALID_ARG, "df_tensor_shape");
    ck_assert_fails_with(df_tensor_shape(tensor, NULL, 2), DF_E_INVALID_ARG, "df_tensor_shape");
    float out[4];
    ck_assert_fails_with(df_tensor_copy_to_host(tensor, out, 3), DF_E_INVALID_ARG, "df_tensor_copy_to_host");
    ck_assert_fails_with(df_tensor_copy_to_host(NULL, out, 4), DF_E_INVALID_ARG, "df_tensor_copy_to_host");
    ck_assert_fails_with(df_tensor_copy_to_host(tensor, NULL, 4), DF_E_INVALID_ARG, "df_tensor_copy_to_host");
    df_tensor_view old_view = {.struct_size = sizeof(size_t)};
    ck_assert_fails_with(df_tensor_view_of(tensor, &old_view), DF_E_INVALID_ARG, "df_tensor_view_of");
    ck_assert_fails_with(df_tensor_view_of(NULL, &old_view), DF_E_INVALID_ARG, "df_tensor_view_of");
    ck_assert_fails_with(df_tensor_view_of(tensor, NULL), DF_E_INVALID_ARG, "df_tensor_view_of");
    df_tensor *converted = NULL;
    ck_assert_fails_with(df_tensor_to(tensor, "cpu", (df_dtype)99, &converted), DF_E_INVALID_ARG, "df_tensor_to");
    ck_assert_fails_with(df_tensor_to(NULL, "cpu", DF_DTYPE_FLOAT16, &converted), DF_E_INVALID_ARG, "df_tensor_to");
    ck_assert_fails_with(df_tensor_to(tensor, "cpu", DF_DTYPE_FLOAT16, NULL), DF_E_INVALID_ARG, "df_tensor_to");
    ck_assert_fails_with(df_tensor_to(tensor, "tpu", DF_DTYPE_FLOAT16, &converted), DF_E_INVALID_ARG, "df_tensor_to");
    ck_assert_ptr_null(converted);
    df_tensor_free(tensor);
}
END_TEST

START_TEST(test_conversion_through_libtorch) {
    float data[6] = {1.5f, -2.25f, 3.0f, 65504.0f, 0.1f, 1e-3f};
    const int64_t shape[2] = {3, 2};
    df_tensor *tensor = NULL, *half = NULL, *back = NULL, *doubled = NULL;
    ck_assert_ok(df_tensor_from_host(data, 2, shape, &tensor));
    ck_assert_ok(df_tensor_to(tensor, NULL, DF_DTYPE_FLOAT16, &half));
    ck_assert_int_eq(df_tensor_dtype(half), DF_DTYPE_FLOAT16);
    ck_assert_str_eq(df_tensor_device(half), "cpu");
    float out[6];
    ck_assert_ok(df_tensor_copy_to_host(half, out, 6));
    ck_assert_float_eq(out[0], 1.5f);
    ck_assert_float_eq(out[3], 65504.0f);
    ck_assert_float_eq_tol(out[4], 0.1f, 1e-4f);
    /* Same dtype and device still gives an independent copy. */
    ck_assert_ok(df_tensor_to(tensor, "cpu", DF_DTYPE_FLOAT32, &back));
    df_tensor_view a = {.struct_size = sizeof a}, b = {.struct_size = sizeof b};
    ck_assert_ok(df_tensor_view_of(tensor, &a));
    ck_assert_ok(df_tensor_view_of(back, &b));
    ck_assert_ptr_ne(a.data, b.data);
    ck_assert_ok(df_tensor_to(half, "cpu", DF_DTYPE_FLOAT64, &doubled));
    ck_assert_ok(df_tensor_view_of(doubled, &b));
    ck_assert_double_eq(((const double *)b.data)[1], -2.25);
    df_tensor_free(doubled);
    df_tensor_free(back);
    df_tensor_free(half);
    df_tensor_free(tensor);
}
END_TEST

START_TEST(test_new_tensors_are_zero_on_cpu) {
    const int64_t shape[3] = {2, 0, 3}, shape2[1] = {5};
    df_tensor *empty = NULL, *ints = NULL;
    ck_assert_ok(df_tensor_new(3, shape, DF_DTYPE_FLOAT32, "cpu", &empty));
    ck_assert_int_eq(df_tensor_numel(empty), 0);
    ck_assert_ok(df_tensor_copy_to_host(empty, (float[1]){0}, 0));
    ck_assert_ok(df_tensor_new(1, shape2, DF_DTYPE_INT64, NULL, &ints));
    float out[5] = {1, 1, 1, 1, 1};
    ck_assert_ok(df_tensor_copy_to_host(ints, out, 5));
    for (int i = 0; i < 5; i++) ck_assert_float_eq(out[i], 0);
    ck_assert_uint_eq(df_dtype_size(DF_DTYPE_BFLOAT16), 2);
    ck_assert_uint_eq(df_dtype_size((df_dtype)99), 0);
    ck_assert_str_eq(df_dtype_name(DF_DTYPE_INT64), "int64");
    ck_assert_ptr_null(df_dtype_name((df_dtype)99));
    df_tensor_free(ints);
    df_tensor_free(empty);
}
END_TEST

START_TEST(test_devices) {
    int available = -1;
    ck_assert_ok(df_device_available("cpu", &available));
    ck_assert_int_eq(available, 1);
    ck_assert_ok(df_device_available("cuda:63", &available));
    ck_assert_int_eq(available, 0);
    ck_assert_fails_with(df_device_available("cuda:", &available), DF_E_INVALID_ARG, "df_device_available");
    ck_assert_fails_with(df_device_available(NULL, &available), DF_E_INVALID_ARG, "df_device_available");
    ck_assert_fails_with(df_device_available("cpu", NULL), DF_E_INVALID_ARG, "df_device_available");
    /* A device that does not exist is a clear DF_E_UNSUPPORTED, never a crash. */
    const int64_t shape[1] = {4};
    df_tensor *tensor = NULL;
    ck_assert_fails_with(df_tensor_new(1, shape, DF_DTYPE_FLOAT32, "cuda:63", &tensor), DF_E_UNSUPPORTED, "df_tensor_new");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "CUDA"));
    ck_assert_ok(df_tensor_new(1, shape, DF_DTYPE_FLOAT32, "cpu", &tensor));
    df_tensor *moved = NULL;
    ck_assert_fails_with(df_tensor_to(tensor, "cuda:63", DF_DTYPE_FLOAT32, &moved), DF_E_UNSUPPORTED, "df_tensor_to");
    ck_assert_ptr_null(moved);
    df_tensor_free(tensor);
}
END_TEST

START_TEST(test_cuda_round_trip_when_available) {
    int available = 0;
    ck_assert_ok(df_device_available("cuda", &available));
    /* CI has no GPU and skips this; make check-cuda (DINOFEAT_REQUIRE_CUDA=1) insists on one. */
    ck_assert_msg(available || getenv("DINOFEAT_REQUIRE_CUDA") == NULL, "CUDA required but not available: %s",
                  df_build_info());
    if (!available) return;
    float data[3] = {1, 2, 3}, out_empty[1];
    const int64_t shape[1] = {3};
    df_tensor *host = NULL, *device = NULL;
    ck_assert_ok(df_tensor_from_host(data, 1, shape, &host));
    /* Empty tensors have no memory: moving and reading them must still work. */
    const int64_t empty_shape[2] = {1, 0};
    df_tensor *empty = NULL, *empty_device = NULL;
    ck_assert_ok(df_tensor_new(2, empty_shape, DF_DTYPE_FLOAT32, "cuda", &empty));
    ck_assert_ok(df_tensor_to(empty, "cpu", DF_DTYPE_FLOAT32, &empty_device));
    ck_assert_ok(df_tensor_copy_to_host(empty, out_empty, 0));
    df_tensor_free(empty_device);
    df_tensor_free(empty);
    ck_assert_ok(df_tensor_to(host, "cuda", DF_DTYPE_BFLOAT16, &device));
    ck_assert_str_eq(df_tensor_device(device), "cuda:0");
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_view_of(device, &view));
    ck_assert_int_eq(view.device_type, DF_DEVICE_CUDA);
    float out[3];
    ck_assert_ok(df_tensor_copy_to_host(device, out, 3));
    ck_assert_float_eq(out[2], 3);
    df_tensor_free(device);
    df_tensor_free(host);
}
END_TEST

Suite *tensor_suite(void) {
    Suite *suite = suite_create("tensor");
    TCase *tc = tcase_create("tensor");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_from_host_copies_and_borrow_does_not);
    tcase_add_test(tc, test_tensor_argument_errors);
    tcase_add_test(tc, test_conversion_through_libtorch);
    tcase_add_test(tc, test_new_tensors_are_zero_on_cpu);
    tcase_add_test(tc, test_devices);
    tcase_add_test(tc, test_cuda_round_trip_when_available);
    suite_add_tcase(suite, tc);
    return suite;
}

/* ---- runtime ------------------------------------------------------------------------------ */

START_TEST(test_default_pool_is_one_thread_per_core) {
    /* libtorch alone would start with a single thread; the library sizes the pool to the cores
     * this process may run on (its affinity mask: taskset, a container's cpuset), not the
     * machine's */
    const char *env = getenv("OMP_NUM_THREADS");
    cpu_set_t allowed;
    ck_assert_int_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    ck_assert_int_eq(df_get_num_threads(), env ? atoi(env) : CPU_COUNT(&allowed));
}
END_TEST

START_TEST(test_threads) {
    ck_assert_ok(df_set_num_threads(1));
    ck_assert_int_eq(df_get_num_threads(), 1);
    ck_assert_ok(df_set_num_threads(0));
    ck_assert_int_ge(df_get_num_threads(), 1);
    ck_assert_fails_with(df_set_num_threads(-1), DF_E_INVALID_ARG, "df_set_num_threads");
}
END_TEST

START_TEST(test_build_info_names_libtorch) {
    const char *info = df_build_info();
    ck_assert_ptr_nonnull(strstr(info, "dinofeat " DF_VERSION_STRING));
    ck_assert_ptr_nonnull(strstr(info, "libtorch "));
    ck_assert(strstr(info, "; process groups gloo") != NULL || strstr(info, "; process groups none") != NULL);
    ck_assert_ptr_eq(df_build_info(), info);
}
END_TEST

Suite *runtime_suite(void) {
    Suite *suite = suite_create("runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_default_pool_is_one_thread_per_core);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_build_info_names_libtorch);
    suite_add_tcase(suite, tc);
    return suite;
}
