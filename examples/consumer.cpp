// A C++ program using the installed C library through pkg-config, with RAII owners:
//   c++ -std=c++17 consumer.cpp $(pkg-config --cflags --libs dinofeat) -o consumer_cpp
#include <dinofeat/dinofeat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct ImageDeleter {
    void operator()(df_image *image) const { df_image_free(image); }
};
struct TensorDeleter {
    void operator()(df_tensor *tensor) const { df_tensor_free(tensor); }
};
using Image = std::unique_ptr<df_image, ImageDeleter>;
using Tensor = std::unique_ptr<df_tensor, TensorDeleter>;

void check(df_status status) {
    if (status != DF_OK) throw std::runtime_error(df_last_error_message());
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
        return 1;
    }
    try {
        df_image *raw = nullptr;
        check(df_image_load(argv[1], nullptr, &raw));
        Image image(raw);
        df_image *grey_raw = nullptr;
        check(df_image_convert(image.get(), 1, &grey_raw));
        Image grey(grey_raw);
        df_tensor *tensor_raw = nullptr;
        check(df_image_to_tensor(image.get(), nullptr, nullptr, &tensor_raw));
        Tensor tensor(tensor_raw);
        df_tensor *half_raw = nullptr;
        check(df_tensor_to(tensor.get(), "cpu", DF_DTYPE_FLOAT16, &half_raw));
        Tensor half(half_raw);
        std::vector<float> values(static_cast<size_t>(df_tensor_numel(half.get())));
        check(df_tensor_copy_to_host(half.get(), values.data(), values.size()));
        std::printf("%s: %zu x %zu -> grey %zu channel(s); float16 tensor of %zu values, first %.4f\n",
                    argv[1], df_image_width(image.get()), df_image_height(image.get()),
                    df_image_channels(grey.get()), values.size(), values.empty() ? 0.0 : values[0]);
    } catch (const std::exception &error) {
        std::fprintf(stderr, "consumer_cpp: %s\n", error.what());
        return 2;
    }
    return 0;
}
