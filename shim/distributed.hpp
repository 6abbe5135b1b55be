// The process group of data-parallel training, shared by the trainers of the shim.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace dfs {

// Whether this process is one of several (a process group of world size > 1 is up).
bool dist_active();
// Replaces each parameter's gradient by the batch-weighted mean over the ranks: rank r's
// gradient (of its mean loss over `local` items) counts local_r / sum(local). values (each a
// mean over the local batch, may be empty) are averaged with the same weights. Parameters without
// a gradient are left alone (every rank must have the same ones).
void dist_average(const std::vector<at::Tensor> &parameters, int64_t local, std::vector<double> *values);
// The mean of each tensor's elements over every rank's (one all-reduce; the local means without
// a group).
std::vector<double> dist_means(const std::vector<at::Tensor> &tensors);
// Every rank's count, in rank order (one entry, local, without a group).
std::vector<int64_t> dist_counts(int64_t local);
// The ranks' rows concatenated in rank order along dim 0: rank r contributes counts[r] rows
// (local itself without a group); returned on local's device and type.
at::Tensor dist_gather_rows(const at::Tensor &local, const std::vector<int64_t> &counts);

}  // namespace dfs
