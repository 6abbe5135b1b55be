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
    unsetenv("DINOFEAT_DISTRIBUTED_TIMEOUT"), unsetenv("WORLD_SIZE"), unsetenv("RANK");
    int rank = -1, world = -1;
    ck_assert_ok(df_distributed_rank(&rank, &world));
    ck_assert_int_eq(world, 1);
}
END_TEST

Suite *distributed_suite(void) {
    Suite *s = suite_create("distributed");
    TCase *tc = tcase_create("environment");
    tcase_add_test(tc, test_distributed_without_a_group);
    tcase_add_test(tc, test_distributed_malformed_environment);
    suite_add_tcase(s, tc);
    return s;
}
