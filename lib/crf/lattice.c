/* Permutohedral lattice, following densecrf's permutohedral.cpp (Krähenbühl 2011): points are
 * embedded in the hyperplane sum = 0 of R^(d+1), splatted onto the d + 1 vertices of their
 * enclosing simplex with barycentric weights, blurred with [1/2 1 1/2] along each of the d + 1
 * lattice directions in turn, and sliced back with the same weights. */
#include "lattice.h"

#include "../internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM 16

struct dfi_lattice {
    int d;
    size_t n;         /* points */
    size_t vertices;  /* lattice vertices touched by some point */
    int32_t *offset;  /* n x (d + 1): vertex of each simplex corner */
    float *weight;    /* n x (d + 1): barycentric weights */
    int32_t *keys;    /* vertices x d: the first d coordinates of each vertex */
    int32_t *nearby;  /* (d + 1) x vertices x 2: neighbour vertex + 1 along -/+ each direction, 0 if none */
    size_t capacity;  /* hash slots, a power of two */
    int32_t *slots;   /* vertex index or -1 */
    size_t key_capacity;
};

static uint64_t hash_key(const int32_t *key, int d) {
    uint64_t h = 0;
    for (int i = 0; i < d; i++) h = (h + (uint32_t)key[i]) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* The vertex holding key, or -1. */
static int32_t find_vertex(const dfi_lattice *lattice, const int32_t *key) {
    int d = lattice->d;
    size_t mask = lattice->capacity - 1;
    for (size_t s = hash_key(key, d) & mask;; s = (s + 1) & mask) {
        int32_t v = lattice->slots[s];
        if (v < 0) return -1;
        if (memcmp(lattice->keys + (size_t)v * d, key, (size_t)d * sizeof *key) == 0) return v;
    }
}

static int grow_slots(dfi_lattice *lattice) {
    size_t capacity = lattice->capacity * 2;
    int32_t *slots = malloc(capacity * sizeof *slots);
    if (slots == NULL) return -1;
    memset(slots, 0xff, capacity * sizeof *slots);
    for (size_t v = 0; v < lattice->vertices; v++) {
        size_t s = hash_key(lattice->keys + v * lattice->d, lattice->d) & (capacity - 1);
        while (slots[s] >= 0) s = (s + 1) & (capacity - 1);
        slots[s] = (int32_t)v;
    }
    free(lattice->slots);
    lattice->slots = slots;
    lattice->capacity = capacity;
    return 0;
}

/* The vertex holding key, added if new; -1 when out of memory. */
static int32_t insert_vertex(dfi_lattice *lattice, const int32_t *key) {
    int32_t found = find_vertex(lattice, key);
    if (found >= 0) return found;
    if (lattice->vertices >= INT32_MAX - 1) return -1;
    if (2 * (lattice->vertices + 1) > lattice->capacity && grow_slots(lattice) != 0) return -1;
    if (lattice->vertices == lattice->key_capacity) {
        size_t capacity = lattice->key_capacity * 2;
        int32_t *keys = realloc(lattice->keys, capacity * (size_t)lattice->d * sizeof *keys);
        if (keys == NULL) return -1;
        lattice->keys = keys;
        lattice->key_capacity = capacity;
    }
    int32_t v = (int32_t)lattice->vertices++;
    memcpy(lattice->keys + (size_t)v * lattice->d, key, (size_t)lattice->d * sizeof *key);
    size_t mask = lattice->capacity - 1, s = hash_key(key, lattice->d) & mask;
    while (lattice->slots[s] >= 0) s = (s + 1) & mask;
    lattice->slots[s] = v;
    return v;
}

/* Embeds one point and inserts its simplex; -1 when out of memory. */
static int splat_point(dfi_lattice *lattice, const float *feature, int32_t *offset, float *weight) {
    const int d = lattice->d;
    float elevated[MAX_DIM + 1], barycentric[MAX_DIM + 2];
    int32_t rem0[MAX_DIM + 1], rank[MAX_DIM + 1], key[MAX_DIM];
    const float inv_std = sqrtf(2.0f / 3.0f) * (float)(d + 1), down = 1.0f / (float)(d + 1);
    float sum = 0;
    for (int j = d; j > 0; j--) {
        float cf = feature[j - 1] * inv_std / sqrtf((float)((j + 1) * j));
        elevated[j] = sum - (float)j * cf;
        sum += cf;
    }
    elevated[0] = sum;
    /* The nearest remainder-0 point, then the rank of each coordinate's residual. */
    int32_t total = 0;
    for (int i = 0; i <= d; i++) {
        float v = down * elevated[i];
        float up = ceilf(v) * (float)(d + 1), dn = floorf(v) * (float)(d + 1);
        rem0[i] = (int32_t)(up - elevated[i] < elevated[i] - dn ? up : dn);
        total += rem0[i];
    }
    total /= d + 1;
    memset(rank, 0, sizeof rank);
    for (int i = 0; i < d; i++) {
        float di = elevated[i] - (float)rem0[i];
        for (int j = i + 1; j <= d; j++) {
            if (di < elevated[j] - (float)rem0[j]) rank[i]++;
            else rank[j]++;
        }
    }
    for (int i = 0; i <= d; i++) { /* back onto the hyperplane */
        rank[i] += total;
        if (rank[i] < 0) rank[i] += d + 1, rem0[i] += d + 1;
        else if (rank[i] > d) rank[i] -= d + 1, rem0[i] -= d + 1;
    }
    memset(barycentric, 0, sizeof barycentric);
    for (int i = 0; i <= d; i++) {
        float v = (elevated[i] - (float)rem0[i]) * down;
        barycentric[d - rank[i]] += v;
        barycentric[d - rank[i] + 1] -= v;
    }
    barycentric[0] += 1.0f + barycentric[d + 1];
    for (int r = 0; r <= d; r++) {
        /* Corner r of the simplex: coordinate i moves by r, or r - (d + 1) where rank[i] > d - r. */
        for (int i = 0; i < d; i++) key[i] = rem0[i] + (rank[i] <= d - r ? r : r - (d + 1));
        int32_t v = insert_vertex(lattice, key);
        if (v < 0) return -1;
        offset[r] = v;
        weight[r] = barycentric[r];
    }
    return 0;
}

/* For each direction j and vertex v, the vertices at v -/+ n_j, n_j = (d + 1) e_j - 1. */
static void link_neighbours(dfi_lattice *lattice) {
    const int d = lattice->d;
    const size_t m = lattice->vertices;
#pragma omp parallel for schedule(static)
    for (size_t v = 0; v < m; v++) {
        int32_t minus[MAX_DIM], plus[MAX_DIM];
        const int32_t *key = lattice->keys + v * d;
        for (int j = 0; j <= d; j++) {
            for (int k = 0; k < d; k++) minus[k] = key[k] + 1, plus[k] = key[k] - 1;
            if (j < d) minus[j] = key[j] - d, plus[j] = key[j] + d;
            lattice->nearby[((size_t)j * m + v) * 2] = find_vertex(lattice, minus) + 1;
            lattice->nearby[((size_t)j * m + v) * 2 + 1] = find_vertex(lattice, plus) + 1;
        }
    }
}

df_status dfi_lattice_new(const float *features, size_t n, int dim, dfi_lattice **out) {
    *out = NULL;
    if (dim < 1 || dim > MAX_DIM) return dfi_error(DF_E_INVALID_ARG, "lattice dimension %d outside 1..%d", dim, MAX_DIM);
    if (n > (size_t)INT32_MAX / (size_t)(dim + 1)) return dfi_error(DF_E_LIMIT, "too many points for the lattice");
    dfi_lattice *lattice = calloc(1, sizeof *lattice);
    if (lattice == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    lattice->d = dim;
    lattice->n = n;
    lattice->capacity = 1024;
    lattice->key_capacity = 512;
    lattice->offset = malloc((n + 1) * (size_t)(dim + 1) * sizeof *lattice->offset);
    lattice->weight = malloc((n + 1) * (size_t)(dim + 1) * sizeof *lattice->weight);
    lattice->keys = malloc(lattice->key_capacity * (size_t)dim * sizeof *lattice->keys);
    lattice->slots = malloc(lattice->capacity * sizeof *lattice->slots);
    int failed = lattice->offset == NULL || lattice->weight == NULL || lattice->keys == NULL || lattice->slots == NULL;
    if (!failed) memset(lattice->slots, 0xff, lattice->capacity * sizeof *lattice->slots);
    for (size_t i = 0; i < n && !failed; i++)
        failed = splat_point(lattice, features + i * dim, lattice->offset + i * (dim + 1),
                             lattice->weight + i * (dim + 1)) != 0;
    if (!failed) {
        lattice->nearby = malloc(((size_t)dim + 1) * (lattice->vertices + 1) * 2 * sizeof *lattice->nearby);
        failed = lattice->nearby == NULL;
    }
    if (failed) {
        dfi_lattice_free(lattice);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory building the permutohedral lattice");
    }
    link_neighbours(lattice);
    *out = lattice;
    return DF_OK;
}

void dfi_lattice_free(dfi_lattice *lattice) {
    if (lattice == NULL) return;
    free(lattice->offset);
    free(lattice->weight);
    free(lattice->keys);
    free(lattice->nearby);
    free(lattice->slots);
    free(lattice);
}

/* The normalisation densecrf applies after slicing, so a lone point keeps about unit weight. */
static float slice_scale(int d) { return 1.0f / (1.0f + powf(2.0f, (float)-d)); }

df_status dfi_lattice_filter(const dfi_lattice *lattice, const float *in, float *out, size_t channels) {
    const int d = lattice->d;
    const size_t m = lattice->vertices, n = lattice->n, corners = (size_t)d + 1;
    size_t size;
    if (dfi_mul_size(m + 1, channels, &size) != 0) return dfi_error(DF_E_LIMIT, "lattice too large");
    /* Slot 0 of each buffer stays zero: it stands for a missing neighbour. */
    float *values = calloc(size, sizeof *values), *blurred = calloc(size, sizeof *blurred);
    if (values == NULL || blurred == NULL) {
        free(values);
        free(blurred);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory filtering on the lattice");
    }
    /* Splatting scatters, so threads split the channels and each visits every point. */
#pragma omp parallel for schedule(static) if (channels > 1)
    for (size_t c = 0; c < channels; c++)
        for (size_t i = 0; i < n; i++)
            for (size_t r = 0; r < corners; r++)
                values[((size_t)lattice->offset[i * corners + r] + 1) * channels + c] +=
                    lattice->weight[i * corners + r] * in[i * channels + c];
    for (int j = 0; j <= d; j++) {
        const int32_t *nearby = lattice->nearby + (size_t)j * m * 2;
#pragma omp parallel for schedule(static)
        for (size_t v = 0; v < m; v++) {
            const float *old = values + (v + 1) * channels, *a = values + (size_t)nearby[2 * v] * channels,
                        *b = values + (size_t)nearby[2 * v + 1] * channels;
            float *fresh = blurred + (v + 1) * channels;
            for (size_t c = 0; c < channels; c++) fresh[c] = old[c] + 0.5f * (a[c] + b[c]);
        }
        float *swap = values;
        values = blurred;
        blurred = swap;
    }
    const float scale = slice_scale(d);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float *o = out + i * channels;
        for (size_t c = 0; c < channels; c++) o[c] = 0.0f;
        for (size_t r = 0; r < corners; r++) {
            const float w = lattice->weight[i * corners + r] * scale;
            const float *v = values + ((size_t)lattice->offset[i * corners + r] + 1) * channels;
            for (size_t c = 0; c < channels; c++) o[c] += w * v[c];
        }
    }
    free(values);
    free(blurred);
    return DF_OK;
}

/* The blur's weight from vertex `from` to vertex `to`: the sum over the moves c in {-1, 0, 1}^(d+1)
 * with sum_j c_j n_j = to - from of 2^-(moves made), counting only paths whose every stop (taken
 * in the blur's direction order) is a vertex, as the blur itself only passes values through
 * vertices. */
static float blur_weight(const dfi_lattice *lattice, int32_t from, int32_t to) {
    const int d = lattice->d;
    int32_t t[MAX_DIM + 1], at[MAX_DIM], c[MAX_DIM + 1];
    const int32_t *a = lattice->keys + (size_t)from * d, *b = lattice->keys + (size_t)to * d;
    int32_t last = 0;
    for (int k = 0; k < d; k++) t[k] = b[k] - a[k], last -= t[k];
    t[d] = last;
    float total = 0.0f;
    /* sum_j c_j n_j = (d + 1) c - (sum c) 1, so c_j = (t_j + s) / (d + 1) with s = sum c; s must
     * make t_0 + s a multiple of d + 1, which leaves three candidates in -(d + 1)..d + 1. */
    const int s0 = ((-t[0]) % (d + 1) + (d + 1)) % (d + 1);
    for (int s = s0 - (d + 1); s <= d + 1; s += d + 1) {
        int valid = 1, sum = 0;
        for (int j = 0; j <= d && valid; j++) {
            int32_t q = t[j] + s;
            valid = q % (d + 1) == 0 && q / (d + 1) >= -1 && q / (d + 1) <= 1;
            if (valid) c[j] = q / (d + 1), sum += c[j];
        }
        if (!valid || sum != s) continue;
        memcpy(at, a, (size_t)d * sizeof *at);
        float w = 1.0f;
        for (int j = 0; j <= d && valid; j++) {
            if (c[j] == 0) continue;
            for (int k = 0; k < d; k++) at[k] -= c[j];
            if (j < d) at[j] += c[j] * (d + 1);
            w *= 0.5f;
            valid = find_vertex(lattice, at) >= 0;
        }
        if (valid) total += w;
    }
    return total;
}

/* The blur weights between the corners of one simplex, (d + 1)^2 of them; neighbouring points
 * mostly share a simplex, so each thread keeps the last few in a small direct-mapped cache. */
#define CACHE_SLOTS 1024

typedef struct simplex_cache {
    int32_t key[CACHE_SLOTS][MAX_DIM + 1];
    float weights[CACHE_SLOTS][(MAX_DIM + 1) * (MAX_DIM + 1)];
    unsigned char used[CACHE_SLOTS];
} simplex_cache;

static const float *simplex_weights(const dfi_lattice *lattice, simplex_cache *cache, const int32_t *offset) {
    const size_t corners = (size_t)lattice->d + 1;
    uint64_t h = 0;
    for (size_t r = 0; r < corners; r++) h = (h + (uint32_t)offset[r]) * 0x9E3779B97F4A7C15ull;
    const size_t slot = (size_t)(h >> 40) % CACHE_SLOTS;
    if (!cache->used[slot] || memcmp(cache->key[slot], offset, corners * sizeof *offset) != 0) {
        for (size_t a = 0; a < corners; a++)
            for (size_t b = 0; b < corners; b++)
                cache->weights[slot][a * corners + b] = blur_weight(lattice, offset[b], offset[a]);
        memcpy(cache->key[slot], offset, corners * sizeof *offset);
        cache->used[slot] = 1;
    }
    return cache->weights[slot];
}

df_status dfi_lattice_self_weights(const dfi_lattice *lattice, float *self) {
    const size_t corners = (size_t)lattice->d + 1;
    const float scale = slice_scale(lattice->d);
    int failed = 0;
#pragma omp parallel
    {
        simplex_cache *cache = calloc(1, sizeof *cache);
        if (cache == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t i = 0; i < lattice->n; i++) {
            if (cache == NULL) continue;
            const int32_t *offset = lattice->offset + i * corners;
            const float *weight = lattice->weight + i * corners, *g = simplex_weights(lattice, cache, offset);
            float total = 0.0f;
            for (size_t a = 0; a < corners; a++)
                for (size_t b = 0; b < corners; b++) total += weight[a] * weight[b] * g[a * corners + b];
            self[i] = total * scale;
        }
        free(cache);
    }
    return failed ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory") : DF_OK;
}
