#!/usr/bin/env bash
# make demo: the main job, which needs no downloaded weights: a synthetic micrograph is generated
# (if absent), a random forest on the classical features is trained from its scribbles, the
# whole image is segmented, an overlay written and the mIoU against the ground truth printed.
# Then the preprocessing path every workflow starts with (decode with EXIF, PIL-exact bicubic
# resize, normalisation) through the C API, the Python API and the dinofeat tool; HR-Dv2
# upsampling, k-means and the HR-Dv2 segmentation with the tiny random model of examples/data/.
set -euo pipefail
cli=${1:-build/bin/dinofeat}
out=demo-output
mkdir -p "$out"
image=test/fixtures/images/exif6.jpg
echo "== dinofeat --version"
"$cli" --version
echo "== the main job: weakly supervised segmentation of a synthetic micrograph from scribbles"
echo "   (three phases of one mean intensity that differ in texture; no neural weights needed)"
micro=$out/micrograph
[ -f "$micro/micrograph.png" ] || /usr/bin/python3 examples/make_micrograph.py "$micro"
"$cli" weak train --image "$micro/micrograph.png" --labels "$micro/scribbles.png" --out "$out/micrograph.dfclf"
"$cli" weak predict --classifier "$out/micrograph.dfclf" --image "$micro/micrograph.png" \
    --out "$out/micrograph_segmentation.png" --overlay "$out/micrograph_overlay.png"
rm -rf "$out/eval" && mkdir -p "$out/eval/pred" "$out/eval/truth"
cp "$out/micrograph_segmentation.png" "$out/eval/pred/micrograph.png"
cp "$micro/truth.png" "$out/eval/truth/micrograph.png"
"$cli" eval --pred "$out/eval/pred" --gt "$out/eval/truth" --task semseg --classes 4 | tail -n 1
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
echo "== HR-Dv2 upsampling end to end with the tiny RANDOM test model (no weights are downloaded:"
echo "   the pipeline is real, the pictures are not meaningful features; pass a real checkpoint"
echo "   with: $cli upsample --model dinov2_vits14_pretrain.pth --image YOUR.jpg --compare out.png)"
"$cli" upsample --model examples/data/tiny-dinov2-s14-reg4.safetensors --image test/fixtures/images/smooth448.png \
    --stride 7 --shifts 1 --compare "$out/upsample_compare.png" --out "$out/features.npy"
/usr/bin/python3 - "$out/features.npy" <<'PY'
import sys
sys.path.insert(0, "bindings/python")
import numpy as np
import dinofeat
features = np.load(sys.argv[1])
labels, _, inertia = dinofeat.kmeans(features.reshape(-1, features.shape[-1]), 4, metric="cosine", sample=20000)
print(f"features {features.shape}; k-means (K=4, cosine) cluster sizes {np.bincount(labels).tolist()}")
PY
echo "== HR-Dv2 class-agnostic segmentation of a 224 x 224 image with the same tiny random model"
"$cli" segment --model examples/data/tiny-dinov2-s14-reg4.safetensors --image test/fixtures/images/smooth448.png \
    --size 224x224 --out "$out/segment_labels.png" --overlay "$out/segment_overlay.png" --boxes "$out/segment_boxes.json"
echo "demo: outputs in $out/"
