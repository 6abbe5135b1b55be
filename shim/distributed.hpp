// The process group of data-parallel training, shared by the trainers of the shim.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

namespace dfs {

// Averages the gradients of one backward pass over the ranks while the pass goes on, as DDP's
// reducer does: the parameters are grouped in buckets (last parameters first: their gradients
// come first), each bucket's all-reduce starts as soon as backward has produced its last gradient,
// in bucket order on every rank, so communication overlaps the rest of backward. A parameter that
// gets no gradient holds its bucket back until finish(): expected (may be empty: all) names the
// parameters that will get one, those of the previous step (arrived()), and only they are put in
// the early buckets. Without a group it does nothing.
class dist_reducer {
public:
    // Hooks the parameters for the coming backward pass of a step over `local` items.
    dist_reducer(const std::vector<at::Tensor> &parameters, int64_t local, const std::vector<char> &expected = {});
    ~dist_reducer(); // removes the hooks
    dist_reducer(const dist_reducer &) = delete;
    dist_reducer &operator=(const dist_reducer &) = delete;
    // After backward: each gradient becomes the batch-weighted mean over the ranks (rank r's, of
    // its mean loss over local_r items, counts local_r / sum(local)); values (each a mean over
    // the local items) are averaged with the same weights. Parameters without a gradient are left
    // alone (every rank must have the same ones).
    void finish(std::vector<double> *values);
    // After finish(): which parameters had a gradient (empty without a group).
    std::vector<char> arrived() const;
    struct state;

private:
    std::shared_ptr<state> state_;
};

// Whether this process is one of several (a process group of world size > 1 is up).
bool dist_active();
// The mean of each tensor's elements over every rank's (one all-reduce; the local means without
// a group).
std::vector<double> dist_means(const std::vector<at::Tensor> &tensors);
// The sum over the ranks of a small local tensor, in a step over `local` items; in backward its
// gradient is summed likewise, weighted as dist_reducer weights the ranks, so that a statistic of
// the whole batch (SyncBatchNorm's) gets every rank's share of the gradient. local itself without
// a group.
at::Tensor dist_sum(const at::Tensor &values, int64_t local);
// Every rank's rows (computed with gradient, each rank its own) concatenated in rank order, in a
// step over `local` items: this rank's rows keep their graph, and in backward the gradient of the
// whole is summed over the ranks as dist_sum's, so each rank's rows get every rank's share of it.
// rows itself without a group.
at::Tensor dist_gather_live(const at::Tensor &rows, int64_t local);
// Every rank's count, in rank order (one entry, local, without a group).
std::vector<int64_t> dist_counts(int64_t local);
// The ranks' rows concatenated in rank order along dim 0: rank r contributes counts[r] rows
// (local itself without a group); returned on local's device and type.
at::Tensor dist_gather_rows(const at::Tensor &local, const std::vector<int64_t> &counts);

}  // namespace dfs
