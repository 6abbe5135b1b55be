/* Joining the data-parallel group from the launcher's environment; the collectives are the
 * shim's (shim/distributed.cpp). */
#include "internal.h"

#include "df_shim.h"
#include "dinofeat/distributed.h"
#include "distributed_shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int group_rank = 0, group_size = 1;

/* An environment variable as an integer in [low, high]; fallback when unset. */
static df_status environment_int(const char *name, long low, long high, long fallback, long *out) {
    const char *text = getenv(name);
    if (text == NULL || *text == '\0') {
        *out = fallback;
        return DF_OK;
    }
    char *end;
    errno = 0;
    const long value = strtol(text, &end, 10);
    if (errno || *end || value < low || value > high)
        return dfi_error(DF_E_INVALID_ARG, "%s is '%s', not a whole number in %ld..%ld", name, text, low, high);
    *out = value;
    return DF_OK;
}

df_status df_distributed_init(const df_options *options) {
    if (group_size > 1) DFI_RETURN(dfi_error(DF_E_UNSUPPORTED, "a process group is already up"));
    long world = 1, rank = 0, port = 29500, timeout = 300;
    df_status status = environment_int("WORLD_SIZE", 1, 65536, 1, &world);
    if (status == DF_OK) status = environment_int("RANK", 0, world - 1, -1, &rank);
    if (status == DF_OK) status = environment_int("MASTER_PORT", 1, 65535, 29500, &port);
    if (status == DF_OK && dfi_option_is_set(options, DF_PARAM_DISTRIBUTED_TIMEOUT))
        timeout = (long)dfi_option_int(options, DF_PARAM_DISTRIBUTED_TIMEOUT);
    else if (status == DF_OK)
        status = environment_int("DINOFEAT_DISTRIBUTED_TIMEOUT", 1, 86400, 300, &timeout);
    if (status != DF_OK) DFI_RETURN(status);
    if (world == 1) return DF_OK;
    const double bucket_mb = dfi_option_float(options, DF_PARAM_DISTRIBUTED_BUCKET_MB);
    if (rank < 0) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "WORLD_SIZE is %ld but RANK is not set", world));
    const char *address = getenv("MASTER_ADDR");
    if (address == NULL || *address == '\0') address = "127.0.0.1";
    /* gradients travel as float64: a bucket holds bucket_mb MiB of float32 values */
    const int64_t bucket = (int64_t)(bucket_mb * 1048576.0 / 4.0) > 0 ? (int64_t)(bucket_mb * 1048576.0 / 4.0) : 1;
    /* torch.distributed's agent-store rendezvous: the launcher serves the store, and the ranks of
     * each restart keep their keys apart from the launcher's and earlier attempts' */
    char prefix[64];
    const char *agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
    const int agent_store = agent != NULL && strcmp(agent, "True") == 0;
    if (agent_store) {
        long attempt;
        status = environment_int("TORCHELASTIC_RESTART_COUNT", 0, 1L << 30, 0, &attempt);
        if (status != DF_OK) DFI_RETURN(status);
        snprintf(prefix, sizeof prefix, "/worker/attempt_%ld", attempt);
    }
    status = dfs_dist_init(address, (int32_t)port, (int32_t)rank, (int32_t)world, (int32_t)timeout, bucket,
                           agent_store ? prefix : NULL);
    if (status != DF_OK)
        DFI_RETURN(dfi_error(status == DF_E_UNSUPPORTED ? status : DF_E_INTERNAL,
                             "rank %ld of %ld, rendezvous at %s:%ld: %s (are all %ld ranks started with these variables, "
                             "within %ld s of each other?)",
                             rank, world, address, port, dfs_last_error(), world, timeout));
    group_rank = (int)rank, group_size = (int)world;
    dfi_log(DF_LOG_INFO, "rank %d of %d joined the group at %s:%ld%s", group_rank, group_size, address, port,
            agent_store ? " (the launcher's store)" : "");
    return DF_OK;
}

struct df_distributed_store {
    dfs_dist_store *store;
    int port;
};

df_status df_distributed_store_new(int port, df_distributed_store **store) {
    DFI_CHECK_NOT_NULL(store);
    *store = NULL;
    if (port < 0 || port > 65535) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "port %d is not in 0..65535", port));
    df_distributed_store *made = calloc(1, sizeof *made);
    if (made == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    int32_t bound = 0;
    const df_status status = dfs_dist_store_new((int32_t)port, &made->store, &bound);
    if (status != DF_OK) {
        free(made);
        DFI_RETURN(dfi_error(status == DF_E_UNSUPPORTED ? status : DF_E_IO, "cannot serve a rendezvous on port %d: %s",
                             port, dfs_last_error()));
    }
    made->port = bound;
    *store = made;
    return DF_OK;
}

df_status df_distributed_store_port(const df_distributed_store *store, int *port) {
    DFI_CHECK_NOT_NULL(store);
    DFI_CHECK_NOT_NULL(port);
    *port = store->port;
    return DF_OK;
}

void df_distributed_store_free(df_distributed_store *store) {
    if (store == NULL) return;
    dfs_dist_store_free(store->store);
    free(store);
}

df_status df_distributed_rank(int *rank, int *world_size) {
    if (rank) *rank = group_rank;
    if (world_size) *world_size = group_size;
    return DF_OK;
}

df_status df_distributed_barrier(void) {
    if (group_size == 1) return DF_OK;
    if (dfs_dist_barrier() != DF_OK) DFI_RETURN(dfi_error(DF_E_INTERNAL, "%s", dfs_last_error()));
    return DF_OK;
}

void df_distributed_shutdown(void) {
    if (group_size == 1) return;
    dfs_dist_shutdown();
    group_rank = 0, group_size = 1;
}

df_status dfi_distributed_check_shares(size_t items, size_t batch) {
    const size_t ranks = (size_t)group_size, last = items % batch;
    if (ranks > 1 && (batch < ranks || (last && last < ranks)))
        return dfi_error(DF_E_INVALID_ARG, "%zu processes need at least %zu images in every batch (batch %zu, %zu images)",
                         ranks, ranks, batch, items);
    return DF_OK;
}

df_status dfi_distributed_agree(df_status status, const int64_t *values, const char *const *names, size_t count) {
    if (group_size == 1) return DF_OK;
    const size_t n = count + 1; /* the status first */
    int64_t *mine = malloc(n * sizeof *mine), *all = malloc((size_t)group_size * n * sizeof *all);
    if (mine == NULL || all == NULL) {
        free(mine), free(all);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    mine[0] = status;
    memcpy(mine + 1, values, count * sizeof *values);
    df_status agreed = dfs_dist_gather_int64(mine, (int64_t)n, all) == DF_OK ? DF_OK
                                                                          : dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    for (int r = 0; agreed == DF_OK && status == DF_OK && r < group_size; r++)
        if (all[(size_t)r * n] != DF_OK)
            agreed = dfi_error(DF_E_INVALID_ARG, "rank %d failed (%s) before training started", r,
                               df_status_str((df_status)all[(size_t)r * n]));
    for (int r = 1; agreed == DF_OK && status == DF_OK && r < group_size; r++)
        for (size_t i = 1; agreed == DF_OK && i < n; i++)
            if (all[(size_t)r * n + i] != all[i])
                agreed = dfi_error(DF_E_INVALID_ARG,
                                   "rank %d has %s %lld, rank 0 %lld: every rank must start from the same checkpoint "
                                   "with the same settings",
                                   r, names[i - 1], (long long)all[(size_t)r * n + i], (long long)all[i]);
    free(mine), free(all);
    return status == DF_OK ? agreed : DF_OK;
}

void dfi_distributed_share(size_t count, size_t *begin, size_t *end) {
    *begin = count * (size_t)group_rank / (size_t)group_size;
    *end = count * (size_t)(group_rank + 1) / (size_t)group_size;
}
