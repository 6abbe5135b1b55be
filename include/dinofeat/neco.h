/*
 * dinofeat NeCo (Pariza et al. 2024, specs/neco.md): the differentiable sorting networks its patch
 * neighbour consistency loss ranks with (Petersen et al. 2021).
 */
#ifndef DINOFEAT_NECO_H
#define DINOFEAT_NECO_H

#include "dinofeat/core.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sorting networks: lists of layers of disjoint compare-and-swaps. */
typedef enum df_sort_network {
    DF_SORT_BITONIC = 0, /* padded to a power of 2 with the padding wires first; log2(N)(log2(N)+1)/2 layers */
    DF_SORT_ODD_EVEN = 1 /* n layers of neighbour pairs, even then odd */
} df_sort_network;

/* The relaxed swap's weight alpha of v = steepness (x_b - x_a): the minimum becomes
 * alpha x_a + (1 - alpha) x_b, the maximum (1 - alpha) x_a + alpha x_b. */
typedef enum df_sort_sigmoid {
    DF_SORT_CAUCHY = 0,       /* atan(v) / pi + 1/2 (NeCo's) */
    DF_SORT_LOGISTIC = 1,     /* 1 / (1 + exp(-v)) */
    DF_SORT_LOGISTIC_PHI = 2, /* logistic of v / (|x_a - x_b| + 1e-10)^0.25 */
    DF_SORT_RECIPROCAL = 3,   /* (v / (2 + |v|) + 1) / 2 */
    DF_SORT_GAUSSIAN = 4,     /* the standard normal CDF of v */
    DF_SORT_OPTIMAL = 5       /* 1/2 + clamp(v, +-1/4) + sign(v) max(0, 1/4 - 1 / (16 (|v| + 1e-10))) */
} df_sort_sigmoid;

/* Sorts each row of values (rows, n; float32 or float64; computed on the CPU, the results on
 * values' device) ascending through the relaxed
 * network: sorted (new, (rows, n)) and permutation (may be NULL; new, (rows, n, n), P[r, i, p] the
 * weight of input i at position p, so sorted[r, p] = sum_i values[r, i] P[r, i, p]; doubly
 * stochastic), in values' type. Each layer updates only its compared columns: O(n^2) per layer
 * against the reference's O(n^3), the same values. Rows run in parallel. */
DF_API df_status df_diffsort(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid,
                             double steepness, df_tensor **sorted, df_tensor **permutation);
/* The gradient (new, shaped as values) of sum(grad_sorted * sorted) + sum(grad_permutation * P)
 * with respect to values; either upstream gradient may be NULL (then that term is absent). */
DF_API df_status df_diffsort_backward(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid,
                                      double steepness, const df_tensor *grad_sorted,
                                      const df_tensor *grad_permutation, df_tensor **grad_values);

/* NeCo's patch neighbour consistency loss: for each of the B x Nq query patches, its distances to
 * the image's R reference patches (refs (B, R, d)) are sorted by the relaxed network
 * (DF_PARAM_NECO_STEEPNESS, _NETWORK, _SIGMOID; cosine similarities, or with
 * DF_PARAM_NECO_EUCLIDEAN Euclidean distances), giving P_s from the student's features and P_t
 * from the teacher's (student, teacher: (B, Nq, d)); loss = -mean over (batch, query, reference
 * i) of sum_p P_t[i, p] log P_s[i, p], the official code's direction, plus with
 * DF_PARAM_NECO_SYMMETRIC the reverse one (its gradient through the student side only). No
 * epsilon in the log: a non-finite loss is DF_E_INTERNAL, never a silent NaN. grad_student (may be
 * NULL; new, (B, Nq, d), student's type) gets d loss / d student. float32 or float64 (computed in
 * the student's type, on the CPU). */
DF_API df_status df_neco_loss(const df_tensor *student, const df_tensor *teacher, const df_tensor *refs,
                              const df_options *options, double *loss, df_tensor **grad_student);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_NECO_H */
