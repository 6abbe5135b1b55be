/*
 * dinofeat data-parallel training: the processes of one training join a process group (libtorch's
 * c10d: a TCPStore rendezvous, Gloo collectives), each trains on its share of every batch, and the
 * gradients are averaged before each update, so N processes with a batch of B images take the
 * steps one process would with B. The group is described by the environment as torchrun and
 * SLURM-style launchers set it (and `dinofeat launch` does on one machine).
 */
#ifndef DINOFEAT_DISTRIBUTED_H
#define DINOFEAT_DISTRIBUTED_H

#include "dinofeat/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Joins the group the environment describes: RANK (0..WORLD_SIZE-1), WORLD_SIZE, MASTER_ADDR
 * (default 127.0.0.1) and MASTER_PORT (default 29500), where rank 0 serves the rendezvous, or,
 * with TORCHELASTIC_USE_AGENT_STORE=True (as torchrun and `dinofeat launch` set it), the launcher
 * serves it and every rank joins as its client, under the keys of attempt
 * TORCHELASTIC_RESTART_COUNT (default 0); GLOO_SOCKET_IFNAME picks the network interface. With WORLD_SIZE unset or 1 it does nothing (a
 * group of one). options (may be NULL): DF_PARAM_DISTRIBUTED_TIMEOUT, the seconds the rendezvous
 * and each collective wait for missing peers before failing (default 300, or the environment's
 * DINOFEAT_DISTRIBUTED_TIMEOUT when the option is not set); DF_PARAM_DISTRIBUTED_BUCKET_MB, the
 * size of the gradient buckets whose all-reduce starts as soon as backward has produced them, so
 * communication overlaps the rest of backward. While the group is up,
 * df_sempart_train, df_ncut_train, df_neco_train, df_neco_step, df_stego_train and
 * df_stego_head_step are data-parallel: every rank must make the same calls.
 * Errors: DF_E_INVALID_ARG (malformed variables), DF_E_INTERNAL (rendezvous failed, timeout),
 * DF_E_UNSUPPORTED (a group is already up). */
DF_API df_status df_distributed_init(const df_options *options);
/* This process's rank and the group's size (0 and 1 without a group). Either may be NULL. */
DF_API df_status df_distributed_rank(int *rank, int *world_size);
/* Returns when every rank has called it (at once without a group); fails after the timeout. */
DF_API df_status df_distributed_barrier(void);
/* Leaves the group (nothing without one). */
DF_API void df_distributed_shutdown(void);

/* The rendezvous a launcher serves for the ranks it starts (torchrun's agent store): a TCPStore
 * listening on port of every interface, or with port 0 on a port the system chooses, held from
 * here to df_distributed_store_free, so that no other process can take it before the ranks
 * connect. Start the ranks with MASTER_PORT set to its port and TORCHELASTIC_USE_AGENT_STORE=True.
 * Errors: DF_E_INVALID_ARG (port outside 0..65535, store NULL), DF_E_IO (the port is taken or
 * cannot be bound), DF_E_UNSUPPORTED (a build without a process group). */
typedef struct df_distributed_store df_distributed_store;
DF_API df_status df_distributed_store_new(int port, df_distributed_store **store);
/* The port the store listens on. */
DF_API df_status df_distributed_store_port(const df_distributed_store *store, int *port);
/* Stops serving (NULL is ignored); ranks still connected then fail their next collective. */
DF_API void df_distributed_store_free(df_distributed_store *store);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_DISTRIBUTED_H */
