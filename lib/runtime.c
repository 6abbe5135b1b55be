/* Versions, build information and thread pools. */
#include "internal.h"
#include "df_shim.h"
#include "distributed_shim.h"

#include <omp.h>
#include <pthread.h>
#include <stdio.h>

unsigned df_version_number(void) { return DF_VERSION_NUMBER; }

const char *df_version_string(void) { return DF_VERSION_STRING; }

static char build_info[256];

static void format_build_info(void) {
    snprintf(build_info, sizeof build_info, "dinofeat %s; libtorch %s; cuda devices %d; openmp %d; process groups %s",
             DF_VERSION_STRING, dfs_torch_version(), dfs_cuda_device_count(), _OPENMP, dfs_dist_backend());
}

const char *df_build_info(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, format_build_info);
    return build_info;
}

df_status df_set_num_threads(int num_threads) {
    if (num_threads < 0)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "num_threads must be >= 0, got %d", num_threads));
    int count = num_threads == 0 ? omp_get_num_procs() : num_threads;
    omp_set_num_threads(count);
    df_status status = dfs_set_num_threads(count);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    return DF_OK;
}

int df_get_num_threads(void) { return dfs_get_num_threads(); }

df_status df_memory_cached(size_t *bytes) {
    DFI_CHECK_NOT_NULL(bytes);
    *bytes = dfs_memory_cached();
    return DF_OK;
}

df_status df_memory_release(void) {
    dfs_memory_release();
    return DF_OK;
}
