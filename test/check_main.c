/* Runs every suite. Suites that never start libtorch fork per test (isolation, timeouts);
 * those that do run without forking, because a fork after libtorch started its thread pools can
 * hang. They run last, so no fork ever follows them. */
#include "check_common.h"

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

int main(void) {
    SRunner *forking = srunner_create(core_suite());
    srunner_add_suite(forking, options_suite());
    srunner_add_suite(forking, image_suite());
    srunner_add_suite(forking, eval_suite());
    srunner_add_suite(forking, regions_suite());
    srunner_add_suite(forking, crf_suite());
    srunner_add_suite(forking, weak_suite());
    srunner_add_suite(forking, datus_suite());
    srunner_add_suite(forking, dataset_suite());
    srunner_run_all(forking, CK_NORMAL);
    int failed = srunner_ntests_failed(forking);
    srunner_free(forking);

    SRunner *torch = srunner_create(tensor_suite());
    srunner_add_suite(torch, runtime_suite());
    srunner_add_suite(torch, model_suite());
    srunner_add_suite(torch, upsample_suite());
    srunner_add_suite(torch, cluster_suite());
    srunner_add_suite(torch, segment_suite());
    srunner_add_suite(torch, retrieval_suite());
    srunner_add_suite(torch, weak_deep_suite());
    srunner_add_suite(torch, datus_crops_suite());
    srunner_add_suite(torch, datus_run_suite());
    srunner_add_suite(torch, cache_suite());
    srunner_add_suite(torch, stego_suite());
    srunner_set_fork_status(torch, CK_NOFORK);
    srunner_run_all(torch, CK_NORMAL);
    failed += srunner_ntests_failed(torch);
    srunner_free(torch);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
