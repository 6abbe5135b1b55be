/*
 * The only door from lib/ (C11) into shim/ (C++17 over libtorch). Plain C: pointers, numbers and
 * the public enums. Every function here is noexcept on the C++ side and fenced (shim/fence.hpp):
 * on failure it returns a df_status and leaves a message for dfs_last_error().
 */
#ifndef DINOFEAT_SHIM_H
#define DINOFEAT_SHIM_H

#include "dinofeat/neco.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
#define DFS_NOEXCEPT noexcept
extern "C" {
#else
#define DFS_NOEXCEPT
#endif

/* A tensor's memory as lib/ sees it: enough to build a from_blob view or a df_tensor_view. */
typedef struct dfs_tensor_desc {
    void *data;
    int32_t ndim;
    int64_t shape[DF_TENSOR_MAX_DIMS];
    int64_t strides[DF_TENSOR_MAX_DIMS]; /* in elements */
    df_dtype dtype;
    df_device_type device_type;
    int32_t device_id;
} dfs_tensor_desc;

/* An owned libtorch tensor; released with dfs_tensor_release. */
typedef struct dfs_tensor dfs_tensor;

/* Borrowed: the message of the shim's last failure on this thread. */
const char *dfs_last_error(void) DFS_NOEXCEPT;

/* Borrowed static strings. */
const char *dfs_torch_version(void) DFS_NOEXCEPT;
int dfs_cuda_device_count(void) DFS_NOEXCEPT;

df_status dfs_set_num_threads(int num_threads) DFS_NOEXCEPT;
/* libtorch's intra-op pool size (sized on first use, see shim/fence.hpp). */
int dfs_get_num_threads(void) DFS_NOEXCEPT;

/* DF_OK when the device exists in this build and machine; DF_E_UNSUPPORTED otherwise. */
df_status dfs_device_check(df_device_type device_type, int32_t device_id) DFS_NOEXCEPT;

/* A zero-filled contiguous tensor. */
df_status dfs_tensor_zeros(int32_t ndim, const int64_t *shape, df_dtype dtype,
                           df_device_type device_type, int32_t device_id, dfs_tensor **out,
                           dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* A contiguous copy of src on another device and/or with another dtype. */
df_status dfs_tensor_convert(const dfs_tensor_desc *src, df_device_type device_type,
                             int32_t device_id, df_dtype dtype, dfs_tensor **out,
                             dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* Every element of src, as float32, row-major, into host memory dst (numel floats). */
df_status dfs_tensor_copy_to_host_f32(const dfs_tensor_desc *src, float *dst) DFS_NOEXCEPT;
/* Does nothing for NULL. */
void dfs_tensor_release(dfs_tensor *tensor) DFS_NOEXCEPT;

/* ---- vision transformers (shim/vit.cpp) ---------------------------------------------- */

typedef struct dfs_vit dfs_vit;

typedef struct dfs_vit_config {
    int32_t dim, depth, patch, registers, pos_grid, mlp_hidden;
    int32_t layerscale, swiglu; /* 0/1 */
} dfs_vit_config;

/* Output slots of a forward pass; intermediate layers follow DFS_VIT_OUT_FIRST_LAYER. */
enum {
    DFS_VIT_OUT_PATCH = 0, DFS_VIT_OUT_CLS, DFS_VIT_OUT_REGISTERS, DFS_VIT_OUT_CLS_ATTENTION,
    DFS_VIT_OUT_Q, DFS_VIT_OUT_K, DFS_VIT_OUT_V, DFS_VIT_OUT_FIRST_LAYER
};
enum { DFS_POS_OFFSET = 1, DFS_POS_SIZE_AA = 2, DFS_POS_SIZE = 3 };
enum { DFS_COVER_CROP = 0, DFS_COVER_PAD = 1, DFS_COVER_NONE = 2 };

typedef struct dfs_vit_run {
    int32_t heads, stride, cover, pos_interp, attn_chunk;
    uint32_t outputs;              /* bit k requests slot k (k < DFS_VIT_OUT_FIRST_LAYER) */
    const int32_t *layers;         /* block indices (0-based) of intermediate outputs */
    int32_t layer_count;
} dfs_vit_run;

df_status dfs_vit_create(const dfs_vit_config *config, df_device_type device_type, int32_t device_id,
                         df_dtype precision, dfs_vit **out) DFS_NOEXCEPT;
/* Copies a float32 host weight (official name, e.g. "blocks.0.attn.qkv.weight") into the model,
 * on its device and in its precision. Shapes are checked. */
df_status dfs_vit_set_weight(dfs_vit *vit, const char *name, const float *data, int32_t ndim,
                             const int64_t *shape) DFS_NOEXCEPT;
/* The weights the configuration needs, by index: official name (borrowed, lives as long as vit)
 * and shape. */
int32_t dfs_vit_weight_count(const dfs_vit *vit) DFS_NOEXCEPT;
df_status dfs_vit_weight_spec(const dfs_vit *vit, int32_t index, const char **name, int32_t *ndim,
                              int64_t *shape) DFS_NOEXCEPT;
/* DF_OK when every weight the configuration needs has been set. */
df_status dfs_vit_check_complete(const dfs_vit *vit) DFS_NOEXCEPT;
/* images: (B, 3, H, W). outs[k] / descs[k] are filled for each requested slot, NULL otherwise. */
df_status dfs_vit_forward(dfs_vit *vit, const dfs_tensor_desc *images, const dfs_vit_run *run,
                          dfs_tensor **outs, dfs_tensor_desc *descs) DFS_NOEXCEPT;
void dfs_vit_free(dfs_vit *vit) DFS_NOEXCEPT;

/* ---- HR-Dv2 upsampling (shim/upsample.cpp) --------------------------------------------- */

enum { DFS_UPS_ATTN_CLS = 0, DFS_UPS_ATTN_O = 1, DFS_UPS_ATTN_Q = 2, DFS_UPS_ATTN_K = 3, DFS_UPS_ATTN_V = 4,
       DFS_UPS_ATTN_NONE = 5 };

typedef struct dfs_upsample_config {
    dfs_vit_run run;             /* heads, pos_interp, attn_chunk, stride of the forward passes */
    const int32_t *distances;    /* shift distances, each > 0 */
    int32_t distance_count;
    int32_t von_neumann;         /* 4 directions instead of Moore's 8 */
    int32_t flips;               /* 0 none, 1 horizontal and vertical, 2 as 1 with identity doubled */
    int32_t border;              /* 0 wrap, 1 zero, 2 replicate */
    int32_t bilinear;            /* 0 nearest-exact */
    int32_t attention;           /* DFS_UPS_ATTN_* */
    int32_t batch;               /* views per forward pass */
    int32_t on_device;           /* keep outputs on the model's device */
    int32_t pad;                 /* zero-pad to multiples of the patch (and crop the result back)
                                    instead of centre-cropping the image */
    df_progress_fn progress;
    void *progress_user;
} dfs_upsample_config;

/* image: (1, 3, H, W). features: (H', W', D) float32, attention (H', W', heads) unless NONE, with
 * H', W' the image cropped to multiples of the patch size, or H, W when padding.
 * DF_E_CANCELLED if progress says so. */
df_status dfs_upsample(dfs_vit *vit, const dfs_tensor_desc *image, const dfs_upsample_config *config,
                       dfs_tensor **features, dfs_tensor_desc *features_desc, dfs_tensor **attention,
                       dfs_tensor_desc *attention_desc) DFS_NOEXCEPT;

/* ---- k-means (shim/kmeans.cpp) --------------------------------------------------------- */

typedef struct dfs_kmeans_config {
    int32_t k, cosine, inits, max_iter;
    double tol;       /* on the squared centroid shift, relative to the data's mean variance */
    uint64_t seed;
    int64_t sample;   /* fit on at most this many points (0: all) */
    int64_t batch;    /* minibatch size (0: full Lloyd iterations) */
} dfs_kmeans_config;

/* points: (N, D) float. centroids: (K, D) float32 on the points' device; the best of the inits. */
df_status dfs_kmeans_fit(const dfs_tensor_desc *points, const dfs_kmeans_config *config, dfs_tensor **centroids,
                         dfs_tensor_desc *centroids_desc, double *inertia, int32_t *iterations) DFS_NOEXCEPT;
/* labels: (N,) int64, the nearest centroid of each point; inertia: the sum of squared distances
 * (cosine: of the L2-normalised points to the centroids, which are means of normalised points). */
df_status dfs_kmeans_assign(const dfs_tensor_desc *points, const dfs_tensor_desc *centroids, int32_t cosine,
                            dfs_tensor **labels, dfs_tensor_desc *labels_desc, double *inertia) DFS_NOEXCEPT;

/* ---- TokenCut (shim/tokencut.cpp) ------------------------------------------------------ */

/* keys: (1, N, D) last-block keys; the patch tokens start at first_patch. Builds the affinity of
 * the L2-normalised patch keys (entries > tau become 1, or keep their value when binary is 0;
 * others eps), and writes the eigenvector y of the second-smallest eigenvalue of
 * (D - A) y = lambda D y (N - first_patch floats, y^T D y = 1, sign arbitrary). */
df_status dfs_tokencut_eigenvector(const dfs_tensor_desc *keys, int64_t first_patch, double tau, double eps,
                                   int32_t binary, float *eigenvector, double *eigenvalue) DFS_NOEXCEPT;

/* ---- STEGO (shim/stego_loss.cpp) --------------------------------------------------------- */

typedef struct dfs_stego_loss_config {
    double shift_self, shift_knn, shift_rand;
    double weight_self, weight_knn, weight_rand;
    int32_t center, stabilize, zero_clamp;
} dfs_stego_loss_config;

/* One pair's correspondence loss: f1, s1 sampled at c1, f2, s2 at c2 (maps (B, C, H, W), coords
 * (B, P, P, 2)); the gradients with respect to the code maps s1 and s2 (each may be NULL). */
df_status dfs_stego_corr_loss(const dfs_tensor_desc *f1, const dfs_tensor_desc *f2, const dfs_tensor_desc *s1,
                              const dfs_tensor_desc *s2, const dfs_tensor_desc *c1, const dfs_tensor_desc *c2,
                              double shift, const dfs_stego_loss_config *config, double *loss, dfs_tensor **grad_s1,
                              dfs_tensor_desc *grad_s1_desc, dfs_tensor **grad_s2,
                              dfs_tensor_desc *grad_s2_desc) DFS_NOEXCEPT;
/* The three terms and their weighted total (losses: self, knn, random, total) with the gradients
 * of the total with respect to s and s_knn; perms (negatives x B, int64) may be NULL. */
df_status dfs_stego_loss(const dfs_tensor_desc *f, const dfs_tensor_desc *s, const dfs_tensor_desc *f_knn,
                         const dfs_tensor_desc *s_knn, const dfs_tensor_desc *c1, const dfs_tensor_desc *c2,
                         const dfs_tensor_desc *perms, const dfs_stego_loss_config *config, double losses[4],
                         dfs_tensor **grad_s, dfs_tensor_desc *grad_s_desc, dfs_tensor **grad_s_knn,
                         dfs_tensor_desc *grad_s_knn_desc) DFS_NOEXCEPT;

/* ---- STEGO's head and probe (shim/stego_trainer.cpp) -------------------------------------- */

/* Parameters, in order: linear.weight (K, D, 1, 1), linear.bias (K), nonlinear1.weight (D, D, 1,
 * 1), nonlinear1.bias (D), nonlinear2.weight (K, D, 1, 1), nonlinear2.bias (K), clusters (C, K),
 * probe.weight (C, K, 1, 1), probe.bias (C). */
#define DFS_STEGO_PARAMETERS 9
#define DFS_STEGO_CLUSTERS 6
typedef struct dfs_stego dfs_stego;
typedef struct dfs_stego_config {
    int64_t dim, code_dim, classes;
    double lr, probe_lr, adam_eps;
    dfs_stego_loss_config loss;
} dfs_stego_config;

df_status dfs_stego_create(const dfs_stego_config *config, const float *const *initial, dfs_stego **out) DFS_NOEXCEPT;
void dfs_stego_free(dfs_stego *stego) DFS_NOEXCEPT;
int64_t dfs_stego_parameter_numel(const dfs_stego_config *config, int32_t index) DFS_NOEXCEPT;
/* Reads (write 0) or writes (write 1) parameter index's value (which 0), Adam m (1) or v (2). */
df_status dfs_stego_state(const dfs_stego *stego, int32_t index, int32_t which, float *values,
                          int32_t write) DFS_NOEXCEPT;
int64_t dfs_stego_steps(const dfs_stego *stego) DFS_NOEXCEPT;
void dfs_stego_set_steps(dfs_stego *stego, int64_t steps) DFS_NOEXCEPT;
/* What one rank computes in a STEGO step. The pool (P, D, H, W) holds the features of every image
 * this rank reads: its share of the batch (`count` of them, at pool rows `own`) and the images its
 * negatives pair them with. pool_masks: 3 x P x D channel masks of the pool's images (already
 * scaled: 0 or 1 / (1 - p); linear, nonlinear, loss features); knn (count, D, H, W) the partners'
 * features of the share and knn_masks their 3 x count x D masks; coords (count, P, P, 2); perms
 * (negatives x count) pool rows; pool_rows (P) the batch index of each pool row; labels (may be NULL; (count, HL, WL) int64, classes outside
 * 0..C-1 ignored) train the linear probe. batch: the whole batch's size over every rank (count
 * without a group), by which the share's losses are weighted. */
typedef struct dfs_stego_batch {
    const dfs_tensor_desc *pool, *knn, *labels;
    const int64_t *own, *pool_rows; /* pool_rows: each pool row's index in the whole batch */
    int64_t count, batch;
    const float *pool_masks, *knn_masks, *coords1, *coords2;
    int64_t points;
    const int64_t *perms;
    int64_t negatives;
} dfs_stego_batch;
/* One step: with a process group up the gradients and losses are the whole batch's (averaged over
 * the ranks) before Adam. losses: self, knn, random, weighted total, cluster probe, linear probe. */
df_status dfs_stego_step(dfs_stego *stego, const dfs_stego_batch *batch, double losses[6]) DFS_NOEXCEPT;
/* The head's codes (B, K, H, W) without dropout. */
df_status dfs_stego_codes(const dfs_stego *stego, const dfs_tensor_desc *features, dfs_tensor **out,
                          dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* Cluster labels (B x height x width, may be NULL) and probabilities (softmax of 2 x the cosine
 * logits, B x height x width x C, may be NULL) of features, averaged with the horizontally
 * flipped image's (flipped may be NULL) and upsampled bilinearly. */
df_status dfs_stego_predict(const dfs_stego *stego, const dfs_tensor_desc *features, const dfs_tensor_desc *flipped,
                            int64_t height, int64_t width, float *probabilities, int32_t *labels) DFS_NOEXCEPT;

/* ---- Sempart (shim/sempart_loss.cpp, shim/sempart_net.cpp) ---------------------------------- */

/* The four losses of one batch (each the mean over its images, specs/sempart.md): masks (B, h, w)
 * or (B, H, W) float32, features (B, h, w, D), images (B, 3, H, W). The gradient outputs may be
 * NULL. */
typedef enum dfs_sempart_term { DFS_TERM_NCUT = 0, DFS_TERM_GTV_COARSE = 1, DFS_TERM_GTV_FINE = 2 } dfs_sempart_term;
/* A loss of masks and other: features for the cut (tau a, eps b) and the coarse GTV (eps a),
 * images for the fine GTV (sigma a). */
df_status dfs_sempart_mask_loss(int32_t term, const dfs_tensor_desc *masks, const dfs_tensor_desc *other, double a,
                                double b, double *loss, dfs_tensor **grad, dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;
df_status dfs_sr_loss(const dfs_tensor_desc *fine, const dfs_tensor_desc *coarse, double *loss,
                      dfs_tensor **grad_fine, dfs_tensor_desc *grad_fine_desc, dfs_tensor **grad_coarse,
                      dfs_tensor_desc *grad_coarse_desc) DFS_NOEXCEPT;

/* The network's states, in order: 32 parameters then 8 BatchNorm buffers (running mean, var). */
#define DFS_SEMPART_PARAMETERS 32
#define DFS_SEMPART_STATES 40
typedef enum dfs_init { DFS_INIT_UNIFORM = 0, DFS_INIT_ONES = 1, DFS_INIT_ZEROS = 2, DFS_INIT_NORMAL = 3 } dfs_init;
typedef struct dfs_sempart dfs_sempart;
typedef struct dfs_sempart_config {
    int64_t dim, grid_height, grid_width, width, heads;
    double tau, eps, sigma, weight_gtv_coarse, weight_gtv_fine, weight_sr, lr, adam_eps;
    int32_t joint, branches; /* branches: 1 encoder and coarse, 2 fine, 3 both */
} dfs_sempart_config;

/* State index's name (borrowed, static), element count, initialisation (uniform in
 * +-1/sqrt(fan_in), ones, zeros, normal with standard deviation 0.02) and fan_in. */
const char *dfs_sempart_state_info(const dfs_sempart_config *config, int32_t index, int64_t *numel, int32_t *init,
                                   int64_t *fan_in) DFS_NOEXCEPT;
df_status dfs_sempart_create(const dfs_sempart_config *config, const float *const *initial,
                             dfs_sempart **out) DFS_NOEXCEPT;
void dfs_sempart_free(dfs_sempart *sempart) DFS_NOEXCEPT;
/* Reads (write 0) or writes (write 1) state index's value (which 0), Adam m (1) or v (2; buffers
 * have only values). */
df_status dfs_sempart_state(const dfs_sempart *sempart, int32_t index, int32_t which, float *values,
                            int32_t write) DFS_NOEXCEPT;
int64_t dfs_sempart_steps(const dfs_sempart *sempart) DFS_NOEXCEPT;
void dfs_sempart_set_branches(dfs_sempart *sempart, int32_t branches) DFS_NOEXCEPT;
void dfs_sempart_set_steps(dfs_sempart *sempart, int64_t steps) DFS_NOEXCEPT;
/* Each parameter's Adam update count (DFS_SEMPART_PARAMETERS values), read or written. */
df_status dfs_sempart_adam_steps(dfs_sempart *sempart, int64_t *steps, int32_t write) DFS_NOEXCEPT;
/* One Adam step on features (B, h, w, D) and images (B, 3, H, W); losses: normalized cut, GTV
 * coarse, GTV fine (0 when the fine branch is off), super-resolution (likewise), weighted total. */
df_status dfs_sempart_step(dfs_sempart *sempart, const dfs_tensor_desc *features, const dfs_tensor_desc *images,
                           double losses[5]) DFS_NOEXCEPT;
/* The coarse (B, h, w) and fine (B, 8h, 8w) masks; training 1 uses the batch's BatchNorm
 * statistics (without updating the running ones), 0 the running statistics. */
df_status dfs_sempart_forward(const dfs_sempart *sempart, const dfs_tensor_desc *features,
                              const dfs_tensor_desc *images, int32_t training, dfs_tensor **coarse,
                              dfs_tensor_desc *coarse_desc, dfs_tensor **fine, dfs_tensor_desc *fine_desc) DFS_NOEXCEPT;

/* ---- differentiable sorting networks (shim/diffsort.cpp) --------------------------------- */

/* values (rows, n) float32 or float64 -> sorted (rows, n) and, when permutation is not NULL, P
 * (rows, n, n), in values' type; network and sigmoid are df_sort_network and df_sort_sigmoid. */
df_status dfs_diffsort(const dfs_tensor_desc *values, int32_t network, int32_t sigmoid, double steepness,
                       dfs_tensor **sorted, dfs_tensor_desc *sorted_desc, dfs_tensor **permutation,
                       dfs_tensor_desc *permutation_desc) DFS_NOEXCEPT;
/* The vector-Jacobian product: grad = d/d values of sum(grad_sorted * sorted) + sum(grad_permutation
 * * P) (either may be NULL). */
df_status dfs_diffsort_backward(const dfs_tensor_desc *values, int32_t network, int32_t sigmoid, double steepness,
                                const dfs_tensor_desc *grad_sorted, const dfs_tensor_desc *grad_permutation,
                                dfs_tensor **grad, dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;

/* NeCo's loss (shim/neco_loss.cpp): student, teacher (B, Nq, d), refs (B, R, d); grad (may be
 * NULL) gets d loss / d student in student's type (float32 or float64). */
typedef struct dfs_neco_config {
    int32_t network, sigmoid, euclidean, symmetric;
    double steepness;
} dfs_neco_config;
df_status dfs_neco_loss(const dfs_tensor_desc *student, const dfs_tensor_desc *teacher, const dfs_tensor_desc *refs,
                        const dfs_neco_config *config, double *loss, dfs_tensor **grad,
                        dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;

/* ---- NeCo post-pretraining (shim/neco_trainer.cpp) --------------------------------------- */

enum { DFS_NECO_GROUP_BACKBONE = 0, DFS_NECO_GROUP_BACKBONE_NO_DECAY = 1, DFS_NECO_GROUP_HEAD = 2,
       DFS_NECO_GROUP_HEAD_NO_DECAY = 3 };

typedef struct dfs_neco_settings {
    int32_t heads, pos_interp;        /* the backbone's forward settings */
    int32_t globals, locals;          /* crops per image */
    int32_t head_hidden, head_out, queue;
    int64_t total_steps;              /* the schedules' length */
    double lr_head, lr_backbone, weight_decay, weight_decay_end, momentum, drop_path, adam_eps;
    dfs_neco_config loss;
} dfs_neco_settings;

typedef struct dfs_neco dfs_neco;
/* Student = teacher = vit's weights (float32, on vit's device), plus the projection head drawn
 * from generator; AdamW moments zero. */
df_status dfs_neco_create(const dfs_vit *vit, const dfs_neco_settings *settings, uint64_t *generator,
                          dfs_neco **out) DFS_NOEXCEPT;
void dfs_neco_free(dfs_neco *trainer) DFS_NOEXCEPT;
/* Parameters: the backbone's under their official names, then head.{0,2,4}.{weight,bias}. */
int32_t dfs_neco_state_count(const dfs_neco *trainer) DFS_NOEXCEPT;
/* name: borrowed; shape: up to DF_TENSOR_MAX_DIMS. */
df_status dfs_neco_state_info(const dfs_neco *trainer, int32_t index, const char **name, int32_t *ndim,
                              int64_t *shape) DFS_NOEXCEPT;
/* which: 0 student, 1 teacher, 2 AdamW's m, 3 its v; float32 values read (write 0) or written. */
df_status dfs_neco_state(dfs_neco *trainer, int32_t index, int32_t which, float *values, int32_t write) DFS_NOEXCEPT;
/* The queue (globals x queue x head_out floats; untouched without a queue or when values is NULL)
 * and its filled rows. */
df_status dfs_neco_queue(dfs_neco *trainer, float *values, int64_t *entries, int32_t write) DFS_NOEXCEPT;
int64_t dfs_neco_steps(const dfs_neco *trainer) DFS_NOEXCEPT;
void dfs_neco_set_steps(dfs_neco *trainer, int64_t steps) DFS_NOEXCEPT;
void dfs_neco_set_total_steps(dfs_neco *trainer, int64_t total) DFS_NOEXCEPT;
/* One step on a batch: global (B G, 3, S, S) and local (B L, 3, s, s; NULL when L is 0) crops,
 * image-major; gc_boxes (B x G x V x 4) and all_boxes (B x V x G x 4) as dfi_neco_intersections
 * gives them per image; generator drives drop-path, references and the queue. In a data-parallel
 * group the B images are rank's share (the ranks' shares in rank order make the whole batch):
 * every rank draws the same, and steps with the whole batch's gradient; loss is the batch's. */
df_status dfs_neco_step(dfs_neco *trainer, const dfs_tensor_desc *global, const dfs_tensor_desc *local,
                        const double *gc_boxes, const double *all_boxes, int64_t batch, int32_t rank,
                        uint64_t *generator, double *loss) DFS_NOEXCEPT;

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

/* ---- ROI align (shim/roi_align.cpp) ------------------------------------------------------ */

/* features (B, C, H, W), boxes (K, 5): batch index, x1, y1, x2, y2 -> out (K, C, P, P) in the
 * features' type; torchvision.ops.roi_align's arithmetic (sampling_ratio <= 0: adaptive). */
df_status dfs_roi_align(const dfs_tensor_desc *features, const dfs_tensor_desc *boxes, int64_t output_size,
                        double spatial_scale, int64_t sampling_ratio, int32_t aligned, dfs_tensor **out,
                        dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* grad (shaped as features) = the adjoint of that map applied to grad_out (K, C, P, P). */
df_status dfs_roi_align_backward(const dfs_tensor_desc *features, const dfs_tensor_desc *boxes, int64_t output_size,
                                 double spatial_scale, int64_t sampling_ratio, int32_t aligned,
                                 const dfs_tensor_desc *grad_out, dfs_tensor **grad,
                                 dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;

/* ---- DatUS² linear algebra: PCA, key affinities (shim/datus.cpp) --------------------------------------------------------------- */

/* The n x d points, centred, projected on their covariance's `components` leading eigenvectors
 * (largest first): out gets n x components floats. */
df_status dfs_pca_project(const float *points, int64_t n, int64_t d, int64_t components, float *out) DFS_NOEXCEPT;
/* positive (n x n bytes) gets 1 where the dot product of keys m and n (n x d floats) is > 0,
 * computed in float64. */
df_status dfs_positive_pairs(const float *keys, int64_t n, int64_t d, uint8_t *positive) DFS_NOEXCEPT;

/* ---- nearest neighbours (shim/retrieval.cpp) ------------------------------------------- */

/* For each of queries (N, D), the k rows of bank (M, D) with the largest dot products, in
 * decreasing order: indices (N x k int64) and similarities (N x k float), on the host. */
df_status dfs_top_k_dot(const dfs_tensor_desc *bank, const dfs_tensor_desc *queries, int64_t k, int64_t *indices,
                        float *similarities) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
