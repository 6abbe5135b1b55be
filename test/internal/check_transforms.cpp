// Every upsampling view of a coordinate image, mapped back through the library's inverse, reads
// each pixel's own coordinate: the inverses are exact (the official code's are not for
// flip x shift products). Links the shim's objects directly; prints a Check-style summary line.
#include "upsample_internal.hpp"

#include <cstdio>

int main() {
    int checks = 0, failures = 0;
    const int32_t distances[] = {1, 2, 3, 7};
    for (int border = 0; border < 3; border++)
        for (int neumann = 0; neumann < 2; neumann++)
            for (int flips = 0; flips < 3; flips++) {
                dfs_upsample_config config{};
                config.distances = distances;
                config.distance_count = 4;
                config.von_neumann = neumann;
                config.flips = flips;
                for (auto size : {std::pair<int64_t, int64_t>{13, 17}, {20, 8}}) {
                    const int64_t h = size.first, w = size.second;
                    // channel 0: row, channel 1: column, channel 2: unused
                    at::Tensor rows = at::arange(h, at::kFloat).view({1, 1, h, 1}).expand({1, 1, h, w});
                    at::Tensor cols = at::arange(w, at::kFloat).view({1, 1, 1, w}).expand({1, 1, h, w});
                    at::Tensor image = at::cat({rows, cols, at::zeros({1, 1, h, w})}, 1);
                    for (const auto &v : dfs::ups_views(config)) {
                        std::vector<int64_t> ri, ci;
                        std::vector<float> rv, cv;
                        dfs::ups_inverse_axis(h, v.dy, v.flip_rows, border == 0, ri, rv);
                        dfs::ups_inverse_axis(w, v.dx, v.flip_cols, border == 0, ci, cv);
                        at::Tensor seen = dfs::ups_transform_image(image, v, border);
                        at::Tensor back = seen.index_select(2, at::tensor(at::IntArrayRef(ri), at::kLong))
                                              .index_select(3, at::tensor(at::IntArrayRef(ci), at::kLong));
                        at::Tensor valid = at::outer(at::tensor(rv), at::tensor(cv)).view({1, 1, h, w}) > 0;
                        at::Tensor wrong = (back.narrow(1, 0, 2) != image.narrow(1, 0, 2)) & valid;
                        checks++;
                        if (wrong.any().item<bool>()) {
                            failures++;
                            std::printf("FAIL border %d neumann %d flips %d size %lldx%lld view (%lld, %lld, %d, %d)\n",
                                        border, neumann, flips, (long long)h, (long long)w, (long long)v.dy,
                                        (long long)v.dx, v.flip_rows, v.flip_cols);
                        }
                        // With wrapping borders every pixel is seen by every view.
                        if (border == 0 && !valid.all().item<bool>()) failures++;
                    }
                }
            }
    std::printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n", checks ? 100 * (checks - failures) / checks : 0, checks,
                failures);
    return failures == 0 ? 0 : 1;
}
