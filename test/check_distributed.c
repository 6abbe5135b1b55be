/* Joining a data-parallel group from the environment: a group of one without variables, and the
 * malformed variables refused. (Two real processes: bindings/python/tests/test_distributed.py.) */
#include "check_common.h"

#include <stdlib.h>

START_TEST(test_distributed_without_a_group) {
    unsetenv("WORLD_SIZE"), unsetenv("RANK");
    ck_assert_ok(df_distributed_init(NULL));
    int rank = -1, world = -1;
    ck_assert_ok(df_distributed_rank(&rank, &world));
    ck_assert_int_eq(rank, 0);
    ck_assert_int_eq(world, 1);
    ck_assert_ok(df_distributed_rank(NULL, NULL));
    ck_assert_ok(df_distributed_barrier());
    df_distributed_shutdown();
    setenv("WORLD_SIZE", "1", 1);
    ck_assert_ok(df_distributed_init(NULL));
    unsetenv("WORLD_SIZE");
}
END_TEST

START_TEST(test_distributed_malformed_environment) {
    setenv("WORLD_SIZE", "two", 1);
    ck_assert_fails_with(df_distributed_init(NULL), DF_E_INVALID_ARG, "df_distributed_init");
    ck_assert_msg(strstr(df_last_error_message(), "WORLD_SIZE") != NULL, "%s", df_last_error_message());
    setenv("WORLD_SIZE", "2", 1);
    unsetenv("RANK");
    ck_assert_fails_with(df_distributed_init(NULL), DF_E_INVALID_ARG, "df_distributed_init");
    ck_assert_msg(strstr(df_last_error_message(), "RANK is not set") != NULL, "%s", df_last_error_message());
    setenv("RANK", "2", 1);
    ck_assert_fails_with(df_distributed_init(NULL), DF_E_INVALID_ARG, "df_distributed_init");
    setenv("RANK", "0", 1);
    setenv("MASTER_PORT", "99999", 1);
    ck_assert_fails_with(df_distributed_init(NULL), DF_E_INVALID_ARG, "df_distributed_init");
    unsetenv("MASTER_PORT");
    setenv("DINOFEAT_DISTRIBUTED_TIMEOUT", "0", 1);
    ck_assert_fails_with(df_distributed_init(NULL), DF_E_INVALID_ARG, "df_distributed_init");
    unsetenv("DINOFEAT_DISTRIBUTED_TIMEOUT");
    setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
    setenv("TORCHELASTIC_RESTART_COUNT", "-1", 1);
    ck_assert_fails_with(df_distributed_init(NULL), DF_E_INVALID_ARG, "df_distributed_init");
    ck_assert_msg(strstr(df_last_error_message(), "TORCHELASTIC_RESTART_COUNT") != NULL, "%s", df_last_error_message());
    unsetenv("TORCHELASTIC_USE_AGENT_STORE"), unsetenv("TORCHELASTIC_RESTART_COUNT");
    unsetenv("WORLD_SIZE"), unsetenv("RANK");
    int rank = -1, world = -1;
    ck_assert_ok(df_distributed_rank(&rank, &world));
    ck_assert_int_eq(world, 1);
}
END_TEST

/* A launcher's store: on a port the system chooses, held while it lives (a second store cannot
 * take it), free again once freed; bad arguments refused. */
START_TEST(test_distributed_store) {
    const char *backend = df_build_info();
    if (strstr(backend, "process groups none") != NULL) {
        df_distributed_store *none = (df_distributed_store *)1;
        ck_assert_fails_with(df_distributed_store_new(0, &none), DF_E_UNSUPPORTED, "df_distributed_store_new");
        ck_assert_ptr_null(none);
        return;
    }
    df_distributed_store *store, *second = (df_distributed_store *)1;
    ck_assert_ok(df_distributed_store_new(0, &store));
    int port = 0;
    ck_assert_ok(df_distributed_store_port(store, &port));
    ck_assert_int_gt(port, 0);
    ck_assert_int_le(port, 65535);
    ck_assert_fails_with(df_distributed_store_new(port, &second), DF_E_IO, "df_distributed_store_new");
    ck_assert_ptr_null(second);
    ck_assert_msg(strstr(df_last_error_message(), "cannot serve a rendezvous on port") != NULL, "%s",
                  df_last_error_message());
    df_distributed_store_free(store);
    ck_assert_ok(df_distributed_store_new(port, &second));
    int again = 0;
    ck_assert_ok(df_distributed_store_port(second, &again));
    ck_assert_int_eq(again, port);
    df_distributed_store_free(second);
    df_distributed_store_free(NULL);
    ck_assert_fails_with(df_distributed_store_new(-1, &store), DF_E_INVALID_ARG, "df_distributed_store_new");
    ck_assert_fails_with(df_distributed_store_new(65536, &store), DF_E_INVALID_ARG, "df_distributed_store_new");
    ck_assert_fails_with(df_distributed_store_new(0, NULL), DF_E_INVALID_ARG, "df_distributed_store_new");
    ck_assert_fails_with(df_distributed_store_port(NULL, &port), DF_E_INVALID_ARG, "df_distributed_store_port");
}
END_TEST

Suite *distributed_suite(void) {
    Suite *s = suite_create("distributed");
    TCase *tc = tcase_create("environment");
    tcase_add_test(tc, test_distributed_without_a_group);
    tcase_add_test(tc, test_distributed_malformed_environment);
    tcase_add_test(tc, test_distributed_store);
    suite_add_tcase(s, tc);
    return s;
}
