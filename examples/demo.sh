#!/usr/bin/env bash
# make demo: the richest job the library runs without downloaded weights. Until a model-based
# workflow lands, that is the preprocessing path every workflow starts with: decode an image
# (EXIF applied), resize it with PIL's bicubic, normalise it into a tensor, and write the
# resized image, all through the installed-style C API and the dinofeat tool.
set -euo pipefail
cli=${1:-build/bin/dinofeat}
out=demo-output
mkdir -p "$out"
image=test/fixtures/images/exif6.jpg
echo "== dinofeat --version"
"$cli" --version
echo "== dinofeat info --image $image   (EXIF orientation 6: stored 40 x 24, shown 24 x 40)"
"$cli" info --image "$image"
echo "== the C API: decode, resize to 224 x 224 (PIL bicubic), ImageNet-normalised tensor"
mkdir -p build
cc -std=c11 -Iinclude examples/consumer.c -o build/demo_consumer -Llib -ldinofeat -Wl,-rpath,"$PWD/lib"
build/demo_consumer "$image"
echo "== the Python API: the same, and the resized image written as PNG"
/usr/bin/python3 - "$image" "$out/resized.png" <<'PY'
import sys
sys.path.insert(0, "bindings/python")
import dinofeat
image = dinofeat.load_image(sys.argv[1])
resized = image.resize(224, 224)
resized.save_png(sys.argv[2])
x = resized.to_tensor().numpy()
print(f"{image} -> {resized}; tensor {x.shape} mean {x.mean():.4f}; wrote {sys.argv[2]}")
PY
"$cli" info --image "$out/resized.png"
