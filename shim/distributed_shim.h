/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_DISTRIBUTED_H
#define DINOFEAT_SHIM_DISTRIBUTED_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data-parallel process group (shim/distributed.cpp) ---------------------------------- */

/* A TCPStore rendezvous at address:port and a Gloo group of world processes: rank 0 serves the
 * store, or, with agent_prefix (not NULL), a launcher does and every rank is its client, its keys
 * under that prefix (torch.distributed's agent store); every collective fails after timeout_s
 * seconds without its peers; gradients are all-reduced in buckets of bucket_elements values. */
df_status dfs_dist_init(const char *address, int32_t port, int32_t rank, int32_t world, int32_t timeout_s,
                        int64_t bucket_elements, const char *agent_prefix) DFS_NOEXCEPT;
/* A TCPStore server on port (0: one the system chooses) of every interface, serving until
 * dfs_dist_store_free; *bound: the port it listens on. */
typedef struct dfs_dist_store dfs_dist_store;
df_status dfs_dist_store_new(int32_t port, dfs_dist_store **store, int32_t *bound) DFS_NOEXCEPT;
void dfs_dist_store_free(dfs_dist_store *store) DFS_NOEXCEPT;
/* Every rank's n values, in rank order, into all (world x n; local itself without a group). */
df_status dfs_dist_gather_int64(const int64_t *local, int64_t n, int64_t *all) DFS_NOEXCEPT;
/* The process group this build can join: "gloo", or "none". */
const char *dfs_dist_backend(void) DFS_NOEXCEPT;
/* Returns when every rank has called it (DF_OK at once without a group). */
df_status dfs_dist_barrier(void) DFS_NOEXCEPT;
/* With local items here: offset gets the items of the lower ranks, total everyone's (one
 * all-gather; 0 and local without a group). */
df_status dfs_dist_offset(int64_t local, int64_t *offset, int64_t *total) DFS_NOEXCEPT;
void dfs_dist_shutdown(void) DFS_NOEXCEPT;
/* Every rank's rows of local (same shape but dim 0) concatenated in rank order, as float32 on the
 * host (local itself, copied, without a group). */
df_status dfs_dist_gather_rows(const dfs_tensor_desc *local, dfs_tensor **out, dfs_tensor_desc *out_desc) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
