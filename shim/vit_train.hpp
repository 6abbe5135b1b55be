// A ViT forward pass that autograd can differentiate, with drop-path: the NeCo trainer's student
// and teacher. Its attention is shim/attention.hpp's, whose memory stays linear in the tokens.
#pragma once

#include "df_shim.h"
#include "vit_shim.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace dfs {

using vit_parameters = std::unordered_map<std::string, at::Tensor>;

struct vit_train_run {
    int64_t heads;
    int32_t pos_interp;                // DFS_POS_*
    std::vector<double> drop_path;     // per block (empty: none)
    uint64_t stream;                   // the step's drop-path draws: a hash of the stream, the
    int64_t pass;                      // pass, the branch and the sample's index in the whole
    std::vector<int64_t> sample_index; // batch, so every sample draws the same on any rank
};

// Final-norm patch tokens (B, gh, gw, D) of images (B, 3, H, W) whose sides are multiples of the
// patch, under the official names of shim/vit.cpp.
at::Tensor vit_train_forward(const dfs_vit_config &config, const vit_parameters &p, const at::Tensor &images,
                             const vit_train_run &run);

// splitmix64 and the uniform [0, 1) double of its top 53 bits.
uint64_t splitmix64(uint64_t *state);
double uniform53(uint64_t *state);
// A uniform [0, 1) double that depends on the four keys alone.
double keyed_uniform(uint64_t stream, int64_t a, int64_t b, int64_t c);

}  // namespace dfs
