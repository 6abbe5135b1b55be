#!/usr/bin/env bash
# The dinofeat tool's contract: --help for the tool and every verb, --version, exit codes
# (0 ok, 1 usage, 2 input error) and messages that name the file and the problem.
set -uo pipefail
cd "$(dirname "$0")"
cli=${DINOFEAT:-../build/bin/dinofeat}
failures=0 passed=0

expect() { # expect CODE PATTERN -- COMMAND...: exit code CODE and output matching PATTERN
    local code=$1 pattern=$2; shift 3
    local output; output=$("$@" 2>&1); local got=$?
    if [ "$got" != "$code" ] || ! grep -qE -- "$pattern" <<<"$output"; then
        echo "FAIL: $* -> exit $got (expected $code), output:"; sed 's/^/    /' <<<"$output"
        failures=$((failures + 1))
    else
        passed=$((passed + 1))
    fi
}

# The tests' optional Python (numpy, PIL under /usr/bin/python3, which make deps installs): missing,
# it fails the run, unless DINOFEAT_ALLOW_SKIP=1 asks to skip what needs it, and says so.
have_python_imaging() {
    /usr/bin/python3 -c "import numpy, PIL" 2>/dev/null && return 0
    if [ "${DINOFEAT_ALLOW_SKIP:-0}" = 1 ]; then
        echo "SKIPPED: $1 (/usr/bin/python3 lacks numpy or PIL; make deps installs them)"
    else
        echo "FAIL: $1 needs numpy and PIL in /usr/bin/python3 (make deps installs them; DINOFEAT_ALLOW_SKIP=1 skips)"
        failures=$((failures + 1))
    fi
    return 1
}

expect 0 "^Usage: dinofeat VERB" -- "$cli" --help
expect 1 "^Usage: dinofeat VERB" -- "$cli"
expect 0 "^dinofeat [0-9]+\.[0-9]+\.[0-9]+" -- "$cli" --version
expect 1 "unknown verb 'frobnicate'" -- "$cli" frobnicate
for verb in $("$cli" --help | awk '/^Verbs:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{on=0}'); do
    expect 0 "^Usage: dinofeat $verb" -- "$cli" "$verb" --help
done
# Every subverb has its own help: its usage and its own options only.
while read -r verb sub; do
    [ -n "$sub" ] || continue
    expect 0 "^Usage: dinofeat $verb $sub" -- "$cli" "$verb" "$sub" --help
    expect 0 "^$sub options:" -- "$cli" "$verb" "$sub" --help
done < <("$cli" --list-options | cut -f1 | sort -u)
expect 0 "^  --k K" -- "$cli" stego knn --help
expect 0 "^ok$" -- bash -c "'$cli' stego predict --help | grep -q -- '--k K' || echo ok"
# One meaning per flag name: a name never appears twice in one (sub)verb, and everywhere it takes
# the same kind of value (the same value name, or none; FILE and DIR are both paths: --labels is
# a label image beside --image, a folder beside --images) and, where it sets a library parameter in
# two places, the same parameter. --seed is every verb's seed of its own random generator.
flag_conflicts() {
    "$cli" --list-options | awk -F'\t' '
        { key = $1 FS $2; if (seen[key]++) print "twice in " $1 ": " $2 }
        { kind = $3 == "FILE" || $3 == "DIR" ? "PATH" : $3
          if (!($2 in value)) { value[$2] = kind; param[$2] = $4; first[$2] = $1; next }
          if (value[$2] != kind) print $2 ": " value[$2] " in " first[$2] ", " kind " in " $1
          else if ($2 != "--seed" && param[$2] != "-" && $4 != "-" && param[$2] != $4)
              print $2 ": " param[$2] " in " first[$2] ", " $4 " in " $1 }' |
        grep . || echo "checked"
}
expect 0 "^checked$" -- flag_conflicts
expect 0 "upsample	--attn	KIND	upsample.attention" -- "$cli" --list-options
expect 0 "libtorch" -- "$cli" info
expect 0 "size: 23 x 17" -- "$cli" info --image fixtures/images/rgb8.png
expect 0 "size: 24 x 40" -- "$cli" info --image fixtures/images/exif6.jpg
expect 0 "bit depth: 16" -- "$cli" info --image fixtures/images/grey16.png
expect 2 "truncated\.jpg: truncated JPEG" -- "$cli" info --image fixtures/images/truncated.jpg
expect 2 "missing\.png: cannot open" -- "$cli" info --image fixtures/images/missing.png
expect 2 "huge\.jpg: a JPEG of 60000 x 60000 pixels exceeds" -- "$cli" info --image fixtures/images/huge.jpg
expect 2 "exceeds the limit of 100 pixels" -- "$cli" info --max-pixels 100 --image fixtures/images/rgb8.png
expect 1 "--max-pixels lots: parameter 'image.max_pixels' takes a whole number" -- "$cli" info --max-pixels lots
expect 1 "must be in" -- "$cli" info --max-pixels 0
expect 1 "unknown option '--bogus'" -- "$cli" info --bogus
expect 1 "needs a value" -- "$cli" info --image
expect 1 "unexpected argument" -- "$cli" info stray
expect 2 "images, [1-9][0-9]* could not be decoded" -- "$cli" info --images fixtures/images

# Models
models=fixtures/models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect 0 "layout: huggingface" -- "$cli" info --model $models/dinov2_s14_reg4_hf.safetensors --heads 2
expect 0 "position interpolation: size_aa" -- "$cli" info --model $models/dinov2_s14_reg4_timm.safetensors --heads 2
expect 0 "layout: training-checkpoint" -- "$cli" info --model $models/dino_s8_checkpoint.pth --checkpoint student
expect 2 "truncated\.pth: .*zip" -- "$cli" info --model $models/truncated.pth
expect 2 "unknown_global\.pth: .*refused, not executed" -- "$cli" info --model $models/unknown_global.pth
expect 2 "legacy\.pth: .*legacy" -- "$cli" info --model $models/legacy.pth
expect 1 "--pos-interp is auto" -- "$cli" info --model $models/dino_s8.pth --pos-interp bogus
# a head count neither the file nor --heads gives is a usage error naming --heads; info describes it
expect 1 "does not record its number of attention heads and dim 16 is no multiple of 64: pass --heads N" -- \
    "$cli" features --model $models/dino_s8.pth --image fixtures/images/rgb8.png
expect 0 "heads: unknown \(the file does not record it: pass --heads N\)" -- "$cli" info --model $models/dino_s8.pth
expect 0 "heads: 2" -- "$cli" info --model ../examples/data/tiny-dinov2-s14-reg4.safetensors
expect 0 "grid: 4 x 4 patches, dim 16" -- "$cli" features --model ../examples/data/tiny-dinov2-s14-reg4.safetensors \
    --image fixtures/images/photo97x61.png --size 56x56 --out "$tmp/tiny.npy"
# --precision auto is the library's choice for the CPU, and says which and why
if grep -qw avx512_bf16 /proc/cpuinfo; then auto_precision=bfloat16; else auto_precision=float32; fi
expect 0 "--precision auto: $auto_precision: this CPU" -- "$cli" features --model $models/dino_s8.pth --heads 2 \
    --image fixtures/images/rgb8.png --precision auto
# bfloat16 asked for by name on a CPU without its dot products gains nothing, and said so (once)
warned_bf16=$([ "$auto_precision" = float32 ] && echo 1 || echo 0)
expect 0 "^warnings: $warned_bf16\$" -- sh -c "'$cli' features --model $models/dino_s8.pth --heads 2 \
    --image fixtures/images/rgb8.png --precision bfloat16 --out '$tmp/bf16.npy' 2>&1 | \
    grep -c 'warning: --precision bfloat16 on this CPU; --precision auto takes float32: this CPU lacks AVX512-BF16' | sed 's/^/warnings: /'"
mkdir -p "$tmp/hf" && cp $models/dino_s8_hf.safetensors "$tmp/hf/model.safetensors"
echo '{"model_type": "vit", "num_attention_heads": 4}' > "$tmp/hf/config.json"
expect 0 "heads: 4" -- "$cli" info --model "$tmp/hf/model.safetensors"
expect 1 "--image FILE is required" -- "$cli" features --model $models/dino_s8.pth --heads 2
expect 1 "--model FILE is required" -- "$cli" features --image fixtures/images/rgb8.png
expect 1 "--size takes WxH" -- "$cli" features --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --size 12
expect 2 "stride 9 exceeds the patch size 8" -- "$cli" features --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --stride 9
expect 0 "grid: 6 x 8 patches, dim 16" -- "$cli" features --model $models/dinov2_s14.pth --heads 2 --image fixtures/images/photo97x61.png \
    --size 112x84 --out "$tmp/f.npy" --pca "$tmp/pca.png" --attn-png "$tmp/attn.png"
expect 0 "size: 112 x 84" -- "$cli" info --image "$tmp/pca.png"
expect 0 "size: 112 x 84" -- "$cli" info --image "$tmp/attn.png"
expect 0 "grid: 18 x 25 patches" -- "$cli" features --model $models/dinov2_s14.pth --heads 2 --image fixtures/images/photo97x61.png \
    --size 112x84 --stride 4 --out "$tmp/f4.npy"
# Upsampling: a 448 x 448 image gives 448 x 448 pictures (few views, to stay quick).
expect 0 "upsampled: 448 x 448 pixels, dim 16" -- "$cli" upsample --model $models/dinov2_s14.pth --heads 2 --image fixtures/images/smooth448.png \
    --stride 14 --shifts 2 --no-flips --pca "$tmp/up_pca.png" --attn-png "$tmp/up_attn.png" --compare "$tmp/cmp.png" --out "$tmp/up.npy"
expect 0 "size: 448 x 448" -- "$cli" info --image "$tmp/up_pca.png"
expect 0 "size: 448 x 448" -- "$cli" info --image "$tmp/up_attn.png"
expect 0 "size: 1360 x 448" -- "$cli" info --image "$tmp/cmp.png"
expect 2 "upsample.shifts: a shift distance must be > 0" -- "$cli" upsample --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --shifts 0
expect 2 "exceeds the patch size" -- "$cli" upsample --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --stride 9
expect 1 "--stride 0: parameter 'upsample.stride' must be in \[1, 1024\]" -- "$cli" upsample --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --stride 0
expect 1 "--attn x: parameter 'upsample.attention' takes cls, o, q, k, v, none, not 'x'" -- "$cli" upsample --model $models/dino_s8.pth --image fixtures/images/rgb8.png --attn x
expect 0 "upsampled: 17 x 23 pixels" -- "$cli" upsample --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --pad --shifts 1 --no-flips
expect 0 "upsampled: 16 x 16 pixels" -- "$cli" upsample --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --flips=official --border zero --bilinear --attn k --batch 4

# Segmentation: the HR-Dv2 workflow on a 224 x 224 image with the defaults (51 views, 80 clusters).
expect 0 "segmented: 224 x 224 pixels, 80 clusters -> [0-9]+ classes" -- "$cli" segment --model $models/dinov2_s14_reg4.pth --heads 2 \
    --image fixtures/images/smooth448.png --size 224x224 --out "$tmp/seg_labels.png" --overlay "$tmp/seg_overlay.png" \
    --boxes "$tmp/seg_boxes.json" --saliency "$tmp/seg_saliency.png"
expect 0 "size: 224 x 224" -- "$cli" info --image "$tmp/seg_labels.png"
expect 0 "channels: 3" -- "$cli" info --image "$tmp/seg_overlay.png"
expect 0 '"superbox": \{"box": \[' -- cat "$tmp/seg_boxes.json"
expect 0 "segmented: 23 x 17 pixels, 5 clusters" -- "$cli" segment --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png \
    --clusters 5 --stride 8 --shifts 1 --no-flips --no-crf --lambda 0.5 --out "$tmp/small_labels.png"
expect 1 "--clusters x: parameter 'kmeans.k' takes a whole number" -- "$cli" segment --model $models/dino_s8.pth --image fixtures/images/rgb8.png --clusters x
expect 1 "--image FILE is required" -- "$cli" segment --model $models/dino_s8.pth
expect 2 "5000 clusters need at least as many points" -- "$cli" segment --model $models/dino_s8.pth --heads 2 --image fixtures/images/rgb8.png --clusters 5000
expect 0 "object box: \[[0-9]+, [0-9]+, [0-9]+, [0-9]+\]" -- "$cli" tokencut --model $models/dino_s8.pth --heads 2 \
    --image fixtures/images/smooth448.png --size 64x48 --mask "$tmp/tc_mask.png" --overlay "$tmp/tc_overlay.png" --boxes "$tmp/tc.json"
expect 0 "size: 64 x 48" -- "$cli" info --image "$tmp/tc_mask.png"
expect 1 "--tau high: parameter 'tokencut.tau' takes a number, not 'high'" -- "$cli" tokencut --model $models/dino_s8.pth --image fixtures/images/rgb8.png --tau high

# Evaluation: predictions scored against themselves are perfect; a missing one is an error.
mkdir -p "$tmp/pred" "$tmp/gt" "$tmp/spred" "$tmp/sgt" "$tmp/bpred" "$tmp/bgt"
cp "$tmp/seg_labels.png" "$tmp/pred/a.png"; cp "$tmp/seg_labels.png" "$tmp/gt/a.png"
cp "$tmp/seg_saliency.png" "$tmp/spred/a.png"; cp "$tmp/seg_saliency.png" "$tmp/sgt/a.png"
cp "$tmp/seg_boxes.json" "$tmp/bpred/a.json"; printf '0 0 224 224\n' > "$tmp/bgt/a.txt"
expect 0 "mIoU 1\.0000   accuracy 1\.0000" -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task semseg --json "$tmp/semseg.json"
expect 0 '"miou": 1,' -- cat "$tmp/semseg.json"
# a pipe behind /dev/stdout is written through (it has no path to write a temporary beside)
expect 0 '"miou": 1,' -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task semseg --json /dev/stdout
expect 0 "mIoU 1\.0000" -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task semseg --protocol many-to-one
expect 0 "IoU 1\.0000   accuracy 1\.0000   maxF_beta 1\.0000" -- "$cli" eval --pred "$tmp/spred" --gt "$tmp/sgt" --task saliency
# the same against ECSSD as its archives unpack (images/, ground_truth_mask/)
mkdir -p "$tmp/ecssd/images" "$tmp/ecssd/ground_truth_mask" "$tmp/ecssd_pred"
cp fixtures/images/baseline.jpg "$tmp/ecssd/images/0001.jpg"; cp "$tmp/seg_saliency.png" "$tmp/ecssd/ground_truth_mask/0001.png"
cp "$tmp/seg_saliency.png" "$tmp/ecssd_pred/0001.png"
expect 0 "IoU 1\.0000   accuracy 1\.0000   maxF_beta 1\.0000" -- "$cli" eval --pred "$tmp/ecssd_pred" --gt "$tmp/ecssd" \
    --task saliency --set dataset.layout=ecssd
expect 2 "no prediction for 0001\.jpg" -- "$cli" eval --pred "$tmp/spred" --gt "$tmp/ecssd" --task saliency --set dataset.layout=ecssd
# CorLoc against PASCAL VOC as it unpacks: the split's images, every object's box from Annotations
voc="$tmp/voc/VOCdevkit/VOC2007"; mkdir -p "$voc/JPEGImages" "$voc/Annotations" "$voc/ImageSets/Main" "$tmp/voc_pred"
cp fixtures/images/baseline.jpg "$voc/JPEGImages/000005.jpg"; cp fixtures/images/baseline.jpg "$voc/JPEGImages/000007.jpg"
printf '000005\n000007\n' > "$voc/ImageSets/Main/test.txt"
printf '<annotation><object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object></annotation>' \
    > "$voc/Annotations/000005.xml"
printf '<annotation><object><bndbox><xmin>51</xmin><ymin>51</ymin><xmax>60</xmax><ymax>60</ymax></bndbox></object></annotation>' \
    > "$voc/Annotations/000007.xml"
printf '{"boxes": [{"class": 1, "box": [0, 0, 10, 10]}]}' > "$tmp/voc_pred/000005.json"; printf '0 0 5 5\n' > "$tmp/voc_pred/000007.txt"
expect 0 "CorLoc 0\.5000" -- "$cli" eval --pred "$tmp/voc_pred" --gt "$tmp/voc" --task corloc --set dataset.layout=voc07 \
    --set dataset.split=test
mkdir -p "$tmp/ecssd_boxes"; cp "$tmp/voc_pred/000005.json" "$tmp/ecssd_boxes/0001.json"
expect 2 "has no boxes" -- "$cli" eval --pred "$tmp/ecssd_boxes" --gt "$tmp/ecssd" --task corloc --set dataset.layout=ecssd
expect 0 "CorLoc 1\.0000" -- "$cli" eval --pred "$tmp/bpred" --gt "$tmp/bgt" --task corloc
# a box file that cannot be read is an input error naming the file and line, never a silent miss
mkdir -p "$tmp/badbox"; printf '# x0 y0 x1 y1\n\n0 0 224\n' > "$tmp/badbox/a.txt"
expect 2 "badbox/a\.txt:3: a line must hold four whole numbers x0 y0 x1 y1, not '0 0 224'" -- \
    "$cli" eval --pred "$tmp/badbox" --gt "$tmp/bgt" --task corloc
rm "$tmp/badbox/a.txt"; printf '{"boxes": [\n  {"box": [0, 0, "a", 9]}]}' > "$tmp/badbox/a.json"
expect 2 "badbox/a\.json:2: a box must be" -- "$cli" eval --pred "$tmp/badbox" --gt "$tmp/bgt" --task corloc
cp "$tmp/seg_labels.png" "$tmp/gt/b.png"
expect 2 "no prediction for .*/gt/b\.png" -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task semseg
cp "$tmp/small_labels.png" "$tmp/pred/b.png"
expect 2 "pred/b\.png is 23 x 17, .*gt/b\.png is 224 x 224" -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task semseg

# Files: written through symbolic links (the link stays), in place on devices, and on a write that
# fails (a full disk: here the file-size limit) the previous file is left whole and no temporary.
tiny=(--model ../examples/data/tiny-dinov2-s14-reg4.safetensors --image fixtures/images/photo97x61.png --size 112x112)
mkdir -p "$tmp/files" && printf previous > "$tmp/files/real.png" && ln -s real.png "$tmp/files/link.png"
ln -s "$tmp/files/real.json" "$tmp/files/dangling.json"
expect 0 "wrote" -- "$cli" features "${tiny[@]}" --pca "$tmp/files/link.png" --attn-png /dev/null
expect 0 "^link$" -- bash -c "test -L '$tmp/files/link.png' && echo link"
expect 0 "size: 112 x 112" -- "$cli" info --image "$tmp/files/real.png"
expect 0 "^character$" -- bash -c "test -c /dev/null && echo character"
expect 0 "segmented" -- "$cli" segment "${tiny[@]}" --clusters 4 --boxes "$tmp/files/dangling.json"
expect 0 '"clusters": 4' -- cat "$tmp/files/real.json"
expect 0 "^link$" -- bash -c "test -L '$tmp/files/dangling.json' && echo link"
ln -s real.dfclf "$tmp/files/link.dfclf"
expect 0 "trained" -- "$cli" weak train --image fixtures/weak/micrograph.png --labels fixtures/weak/scribbles.png \
    --out "$tmp/files/link.dfclf"
expect 0 "^link$" -- bash -c "test -L '$tmp/files/link.dfclf' && test -s '$tmp/files/real.dfclf' && echo link"
for out in full.npy full.png full.json; do printf previous > "$tmp/files/$out"; done
limited() { (trap "" XFSZ; ulimit -f 0; exec "$@"); } # every write to a file fails with EFBIG
expect 2 "full\.npy: .*(too large|No space)" -- limited "$cli" features "${tiny[@]}" --out "$tmp/files/full.npy"
expect 2 "full\.png: .*(too large|No space)" -- limited "$cli" features "${tiny[@]}" --pca "$tmp/files/full.png"
expect 2 "(too large|No space)" -- "$cli" features "${tiny[@]}" --out /dev/full
expect 2 "full\.json: cannot write: .*(too large|No space)" -- bash -c "ulimit -f 0; trap '' XFSZ; exec '$cli' eval \
    --pred '$tmp/bgt' --gt '$tmp/bgt' --task corloc --json '$tmp/files/full.json'"
for out in full.npy full.png full.json; do
    expect 0 "^previous$" -- bash -c "cat '$tmp/files/$out'; echo"
done
expect 0 "^none left$" -- bash -c "ls '$tmp/files' | grep -c tmp || echo none left"
printf previous > "$tmp/files/private.npy" && chmod 600 "$tmp/files/private.npy"
expect 0 "wrote" -- "$cli" features "${tiny[@]}" --out "$tmp/files/private.npy"
expect 0 "^600$" -- stat -c %a "$tmp/files/private.npy"
# Hand-made predictions whose scores are worked out by hand (the comments), not by dinofeat.
if have_python_imaging "eval on hand-made predictions"; then
    mkdir -p "$tmp/hand/pred" "$tmp/hand/gt" "$tmp/hand/spred" "$tmp/hand/sgt" "$tmp/hand/bpred" "$tmp/hand/bgt"
    /usr/bin/python3 -c "
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
def save(name, rows):
    Image.fromarray(np.array(rows, np.uint8)).save(d + '/' + name + '.png')
# semseg, two images scored together. a: truth 0 over 1; clusters 1 over 0, one pixel cluster 3.
save('pred/a', [[3, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
save('gt/a', [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]])
# b: class 2 everywhere, one pixel ignored (255), all cluster 2
save('pred/b', [[2, 2, 2, 2], [2, 2, 2, 2]])
save('gt/b', [[2, 2, 2, 2], [255, 2, 2, 2]])
# saliency. a: truth the left half (8); prediction 6 of it and 1 more. b: truth the top row, 3 of it predicted.
save('sgt/a', [[255, 255, 0, 0]] * 4)
save('spred/a', [[255, 255, 255, 0], [0, 255, 0, 0], [255, 0, 0, 0], [255, 255, 0, 0]])
save('sgt/b', [[255] * 4] + [[0] * 4] * 3)
save('spred/b', [[255, 255, 255, 0]] + [[0] * 4] * 3)
" "$tmp/hand"
    # Hungarian: 1 -> 0, 0 -> 1, 2 -> 2, cluster 3 unmatched (an error): 22 of 23 counted pixels right;
    # IoU 7/8 (class 0: one pixel lost), 8/8, 7/7: mIoU 23/24 = 0.9583, accuracy 22/23 = 0.9565.
    expect 0 "mIoU 0\.9583   accuracy 0\.9565" -- "$cli" eval --pred "$tmp/hand/pred" --gt "$tmp/hand/gt" --task semseg
    # many-to-one: cluster 3 -> class 0 as well: everything right.
    expect 0 "mIoU 1\.0000   accuracy 1\.0000" -- "$cli" eval --pred "$tmp/hand/pred" --gt "$tmp/hand/gt" --task semseg \
        --protocol many-to-one
    # IoU (6/9 + 3/4) / 2 = 0.7083; accuracy (13/16 + 15/16) / 2 = 0.875; at every threshold above 0
    # precision (6/7 + 1) / 2, recall (6/8 + 3/4) / 2: F_0.3 = 1.3 P R / (0.3 P + R) = 0.8802 (at 0,
    # everything foreground, F is 0.4382).
    expect 0 "IoU 0\.7083   accuracy 0\.8750   maxF_beta 0\.8802" -- "$cli" eval --pred "$tmp/hand/spred" --gt "$tmp/hand/sgt" \
        --task saliency
    # a: IoU 100 / 120 > 0.5, a hit; b: 25 / 175, a miss.
    printf '0 0 10 10\n' > "$tmp/hand/bpred/a.txt"; printf '0 0 10 12\n' > "$tmp/hand/bgt/a.txt"
    printf '0 0 10 10\n' > "$tmp/hand/bpred/b.txt"; printf '5 5 15 15\n' > "$tmp/hand/bgt/b.txt"
    expect 0 "CorLoc 0\.5000" -- "$cli" eval --pred "$tmp/hand/bpred" --gt "$tmp/hand/bgt" --task corloc
fi
expect 1 "--task is semseg, saliency or corloc" -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task depth
expect 1 "--protocol is hungarian, many-to-one, hungarian-iou or none, not .best." -- "$cli" eval --pred "$tmp/pred" --gt "$tmp/gt" --task semseg --protocol best

# Weak supervision: train from scribbles, predict one image and a folder, refuse bad input.
expect 0 "trained: 3 classes from 1 image" -- "$cli" weak train --image fixtures/weak/micrograph.png \
    --labels fixtures/weak/scribbles.png --trees 50 --out "$tmp/clf.dfclf"
expect 0 "wrote .*weak_seg\.png" -- "$cli" weak predict --classifier "$tmp/clf.dfclf" --image fixtures/weak/micrograph.png \
    --out "$tmp/weak_seg.png" --overlay "$tmp/weak_overlay.png" --proba "$tmp/weak_p.npy" --crf
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/weak_overlay.png"
mkdir -p "$tmp/weak_in" && cp fixtures/weak/micrograph.png "$tmp/weak_in/a.png" && cp fixtures/weak/micrograph.png "$tmp/weak_in/b.png"
expect 0 "segmented 2 image\(s\) into" -- "$cli" weak predict --classifier "$tmp/clf.dfclf" --images "$tmp/weak_in" --out-dir "$tmp/weak_out"
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/weak_out/b.png"
# A dataset as distributed (a Cityscapes replica): predicted through --set dataset.layout, and
# scored against its mapped labels: labelIds 7 8 / 0 33 become classes 0 1 / ignored 26.
cs="$tmp/cityscapes"; mkdir -p "$cs/leftImg8bit/val/ulm" "$cs/gtFine/val/ulm" "$tmp/cs_hand/ulm"
cp fixtures/weak/micrograph.png "$cs/leftImg8bit/val/ulm/ulm_000000_000019_leftImg8bit.png"
expect 0 "segmented 1 image\(s\) into" -- "$cli" weak predict --classifier "$tmp/clf.dfclf" --images "$cs" \
    --out-dir "$tmp/cs_pred" --set dataset.layout=cityscapes27
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/cs_pred/ulm/ulm_000000_000019_leftImg8bit.png"
if have_python_imaging "eval against a distributed dataset"; then
    /usr/bin/python3 -c "
import numpy as np, sys
from PIL import Image
ids = np.array([[7, 7, 8, 8], [0, 33, 8, 7]], np.uint8)  # classes 0 0 1 1 / - 26 1 0
pred = np.array([[5, 5, 3, 3], [9, 3, 3, 3]], np.uint8)
Image.fromarray(np.tile(ids, (128, 64))).save(sys.argv[1])
Image.fromarray(np.tile(pred, (128, 64))).save(sys.argv[2])" \
        "$cs/gtFine/val/ulm/ulm_000000_000019_gtFine_labelIds.png" "$tmp/cs_hand/ulm/ulm_000000_000019_leftImg8bit.png"
    # Hungarian: cluster 5 -> class 0 (2 of 3), cluster 3 -> class 1 (3 of 3; 26 and one 0 wrong):
    # accuracy 5/7; IoU 2/3, 3/5 and 0 for class 26: mIoU 0.4222
    expect 0 "mIoU 0\.4222   accuracy 0\.7143" -- "$cli" eval --pred "$tmp/cs_hand" --gt "$cs" --task semseg \
        --set dataset.layout=cityscapes27
    expect 0 "semseg: 1 images" -- "$cli" eval --pred "$tmp/cs_pred" --gt "$cs" --task semseg --set dataset.layout=cityscapes27
    expect 2 "no prediction for ulm/ulm_000000_000019_leftImg8bit.png" -- "$cli" eval --pred "$tmp/weak_out" --gt "$cs" \
        --task semseg --set dataset.layout=cityscapes27
fi
expect 2 "label image 0 is 23 x 17, its image 256 x 256" -- "$cli" weak train --image fixtures/weak/micrograph.png \
    --labels fixtures/images/grey1.png --out "$tmp/bad.dfclf"
expect 2 "label image 0 must have one channel" -- "$cli" weak train --image fixtures/weak/micrograph.png \
    --labels fixtures/images/rgb8.png --out "$tmp/bad.dfclf"
expect 2 "not a dinofeat classifier file" -- "$cli" weak predict --classifier fixtures/weak/truth.png --image fixtures/weak/micrograph.png --out "$tmp/x.png"
head -c 300 "$tmp/clf.dfclf" > "$tmp/cut.dfclf"
expect 2 "truncated" -- "$cli" weak predict --classifier "$tmp/cut.dfclf" --image fixtures/weak/micrograph.png --out "$tmp/x.png"
expect 1 "give each --image its --labels" -- "$cli" weak train --image fixtures/weak/micrograph.png --out "$tmp/x.dfclf"
expect 1 "deep and hybrid need --model FILE" -- "$cli" weak train --image a --labels b --features deep --out "$tmp/x.dfclf"
expect 1 "--method svm: parameter 'weak.classifier' takes auto, forest, logreg" -- "$cli" weak train --image a --labels b --method svm --out "$tmp/x.dfclf"
expect 0 "trained: 3 classes" -- "$cli" weak train --image fixtures/weak/micrograph.png --labels fixtures/weak/scribbles.png \
    --features hybrid --model $models/dinov2_s14.pth --heads 2 --stride 7 --shifts 1 --no-flips --out "$tmp/hybrid.dfclf"
expect 0 "wrote .*hybrid\.png" -- "$cli" weak predict --classifier "$tmp/hybrid.dfclf" --model $models/dinov2_s14.pth --heads 2 \
    --image fixtures/weak/micrograph.png --out "$tmp/hybrid.png"
expect 2 "the model does not match the classifier's" -- "$cli" weak predict --classifier "$tmp/hybrid.dfclf" \
    --model $models/dino_s8.pth --heads 2 --image fixtures/weak/micrograph.png --out "$tmp/hybrid.png"
expect 0 "trained: 3 classes" -- "$cli" weak train --image fixtures/weak/micrograph.png --labels fixtures/weak/scribbles.png \
    --trees 10 --groups gaussian,mean,neighbours --min-sigma 1 --max-sigma 4 --out "$tmp/groups.dfclf"
expect 0 '"groups": "gaussian,mean,neighbours", "min_sigma": 1, "max_sigma": 4' -- grep -ao '"groups": [^}]*' "$tmp/groups.dfclf"
expect 0 "wrote .*groups_seg\.png" -- "$cli" weak predict --classifier "$tmp/groups.dfclf" \
    --image fixtures/weak/micrograph.png --out "$tmp/groups_seg.png"
expect 1 "--groups: classical.groups: 'moon' is not a group" -- "$cli" weak train --image a --labels b --groups moon --out x
expect 1 "--max-sigma big: parameter 'classical.max_sigma' takes a whole number, not 'big'" -- "$cli" weak train --image a --labels b --max-sigma big --out x
cat > "$tmp/live.txt" <<'SCRIPT'
# two strokes, a label image, an erasure
stroke 1 2 10,10 40,12
stroke 2 1.5 200,200
labels fixtures/weak/scribbles.png
erase 3 10,10 40,12
SCRIPT
expect 0 "step 4 \(erase, 2 point\(s\)\): fit .* s, predict .* s, total .* s" -- "$cli" weak live \
    --image fixtures/weak/micrograph.png --script "$tmp/live.txt" --live-trees 8 --trees 12 --view 0,0,128,64 \
    --out "$tmp/live.png" --save "$tmp/live.dfclf"
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/live.png"
expect 0 "wrote .*live_again\.png" -- "$cli" weak predict --classifier "$tmp/live.dfclf" \
    --image fixtures/weak/micrograph.png --out "$tmp/live_again.png"
printf 'stroke 1 two 5,5\n' > "$tmp/bad_live.txt"
expect 1 "bad_live.txt:1: not 'stroke CLASS RADIUS" -- "$cli" weak live --image fixtures/weak/micrograph.png \
    --script "$tmp/bad_live.txt"
printf '# nothing\n' > "$tmp/empty_live.txt"
expect 1 "has no action" -- "$cli" weak live --image fixtures/weak/micrograph.png --script "$tmp/empty_live.txt"
expect 1 "--view 200,0,100,10 leaves the 256 x 256 image" -- "$cli" weak live --image fixtures/weak/micrograph.png \
    --script "$tmp/live.txt" --view 200,0,100,10
expect 1 "--script FILE is required" -- "$cli" weak live --image fixtures/weak/micrograph.png
expect 0 "live options" -- "$cli" weak live --help
# every library parameter is reachable with --set: all of them set to the defaults dinofeat params
# shows (from the library) give the same listing; a verb honours --set; bad settings are refused
expect 0 "^upsample.attention = cls \(0\)$" -- "$cli" params upsample.attention
expect 0 "default cls \(0\); cls, o, q, k, v, none$" -- "$cli" params upsample.attention
expect 0 "^upsample.attention = o \(1\)$" -- "$cli" params --set upsample.attention=o upsample.attention
expect 0 "^crf.iterations = 5$" -- "$cli" params --set=crf.iterations=5 crf.iterations
# the help shows the defaults --set makes, as numbers are written ("20", not "2e+01"), and finds the subverb after it
expect 0 "--lambda L .*\(default 20\)" -- "$cli" segment --set cas.cutoff_scale=20 --help
expect 0 "--seed N .*\(default 7\)" -- "$cli" sempart --set sempart.seed=7 train --help
expect 0 "^forest.trees$" -- "$cli" params --names
expect 0 "^all [0-9]+ parameters round-trip$" -- /usr/bin/python3 -c '
import re, subprocess, sys
cli = sys.argv[1]
listing = subprocess.run([cli, "params"], capture_output=True, text=True, check=True).stdout
values = re.findall(r"^(\S+) = (.*)$", listing, flags=re.M)
names = subprocess.run([cli, "params", "--names"], capture_output=True, text=True, check=True).stdout.split()
assert [n for n, _ in values] == names, "params and params --names disagree"
args = []
for name, value in values:
    value = re.sub(r" \(-?[0-9]+\)$", "", value)
    args += ["--set", name + "=" + (value[1:-1] if value.startswith("\"") else value)]
again = subprocess.run([cli, "params"] + args, capture_output=True, text=True, check=True).stdout
assert again == listing, "setting the defaults changed the listing"
print(f"all {len(names)} parameters round-trip")' "$cli"
expect 1 "--set kmeans.k=0: parameter 'kmeans.k' must be in \[1, 1048576\]" -- "$cli" params --set kmeans.k=0
expect 1 "--set upsample.attention=x: parameter 'upsample.attention' takes cls, o, q, k, v, none, not 'x'" -- \
    "$cli" upsample --set upsample.attention=x --model m --image i
expect 1 "unknown parameter 'kmeans.kk'" -- "$cli" segment --set kmeans.kk=3
expect 1 "--set needs NAME=VALUE" -- "$cli" info --set
expect 1 "unknown parameter 'no.such'" -- "$cli" params no.such
expect 0 "trained: 3 classes" -- "$cli" weak train --image fixtures/weak/micrograph.png --labels fixtures/weak/scribbles.png \
    --set forest.trees=6 --set classical.groups=gaussian,mean --out "$tmp/set.dfclf"
expect 0 '"groups": "gaussian,mean"' -- grep -ao '"groups": [^}]*' "$tmp/set.dfclf"
expect 1 "unknown sub-verb 'fit'" -- "$cli" weak fit

if have_python_imaging "reading the .npy features with numpy"; then
    expect 0 "^\(6, 8, 16\) float32$" -- /usr/bin/python3 -c "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype)" "$tmp/f.npy"
fi

# DatUS²: a folder run, its resume after an interruption (a torn last record), refusals, eval.
mkdir -p "$tmp/datus_in" "$tmp/datus_part"
cp fixtures/images/baseline.jpg fixtures/images/grey8.png fixtures/images/rgb8.png fixtures/weak/micrograph.png "$tmp/datus_in/"
cp fixtures/images/baseline.jpg fixtures/images/grey8.png "$tmp/datus_part/"
datus=("$cli" datus --model $models/dino_s8.pth --heads 2 --clusters 3 --side 64 --threshold 3)
expect 0 "datus: 4 images, [0-9]+ segments in 3 clusters" -- "${datus[@]}" --images "$tmp/datus_in" --out-dir "$tmp/datus_one"
expect 0 "^image,segment,patches,cluster$" -- head -1 "$tmp/datus_one/segments.csv"
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/datus_one/masks/micrograph.png"
expect 0 "size: 396 x 788" -- "$cli" info --image "$tmp/datus_one/gallery.png"
expect 0 "datus: 2 images" -- "${datus[@]}" --images "$tmp/datus_part" --out-dir "$tmp/datus_two"
truncate -s -29 "$tmp/datus_two/segments.dfds" # killed while writing the second record
cp fixtures/images/rgb8.png fixtures/weak/micrograph.png "$tmp/datus_part/"
expect 0 "resumed: 1 of 4 images were recorded already" -- "${datus[@]}" --images "$tmp/datus_part" --out-dir "$tmp/datus_two"
# a run that fails before any image is recorded does not bind the folder to its settings
expect 1 "--side 5 is smaller than the model's 8-pixel patch" -- "$cli" datus --model $models/dino_s8.pth --heads 2 \
    --clusters 3 --side 5 --images "$tmp/datus_in" --out-dir "$tmp/datus_retry"
expect 0 "^no store$" -- bash -c "test -e '$tmp/datus_retry/segments.dfds' || echo no store"
mkdir -p "$tmp/datus_none" && printf 'broken' > "$tmp/datus_none/a.png"
expect 2 "" -- "$cli" datus --model $models/dino_s8.pth --heads 2 --clusters 3 --side 32 --images "$tmp/datus_none" \
    --out-dir "$tmp/datus_retry"
expect 0 "datus: 4 images" -- "${datus[@]}" --images "$tmp/datus_in" --out-dir "$tmp/datus_retry"
expect 0 "" -- cmp "$tmp/datus_one/segments.dfds" "$tmp/datus_two/segments.dfds"
expect 0 "" -- cmp "$tmp/datus_one/segments.csv" "$tmp/datus_two/segments.csv"
expect 0 "" -- cmp "$tmp/datus_one/masks/micrograph.png" "$tmp/datus_two/masks/micrograph.png"
expect 2 "was made with threshold 3, this run asks for 4" -- "${datus[@]}" --threshold 4 --images "$tmp/datus_part" \
    --out-dir "$tmp/datus_two"
# where the store cannot be: under a file, or a folder in its place
expect 2 "datus_in/baseline\.jpg/x/segments\.dfds: Not a directory" -- "${datus[@]}" --images "$tmp/datus_in" \
    --out-dir "$tmp/datus_in/baseline.jpg/x"
mkdir -p "$tmp/datus_folder/segments.dfds"
expect 2 "segments\.dfds: not a dinofeat DatUS store" -- "${datus[@]}" --images "$tmp/datus_in" --out-dir "$tmp/datus_folder"
mkdir -p "$tmp/datus_empty/sub"
expect 2 "holds no PNG or JPEG image" -- "${datus[@]}" --images "$tmp/datus_empty" --out-dir "$tmp/datus_x"
expect 1 "--clusters takes a whole number 1..255" -- "${datus[@]}" --clusters 256 --images "$tmp/datus_in" --out-dir "$tmp/datus_x"
expect 1 "--clusters K is required" -- "$cli" datus --images "$tmp/datus_in" --out-dir "$tmp/datus_x"
expect 1 "--threshold -1: parameter .datus.threshold. must be in" -- "${datus[@]}" --threshold -1 --images "$tmp/datus_in" --out-dir "$tmp/datus_x"
expect 2 "huge\.jpg: .*exceeds" -- "${datus[@]}" --images fixtures/images --out-dir "$tmp/datus_fixtures"
expect 0 "datus: 4 images" -- "${datus[@]}" --kmeans-sample 8 --pca-dims 4 --images "$tmp/datus_in" --out-dir "$tmp/datus_one"
expect 1 "--kmeans-sample -1: parameter .kmeans.sample." -- "${datus[@]}" --kmeans-sample -1 --images "$tmp/datus_in" --out-dir "$tmp/datus_one"
expect 0 "de-noised in denoised/" -- "${datus[@]}" --denoise --gallery 1 --images "$tmp/datus_in" --out-dir "$tmp/datus_one"
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/datus_one/denoised/micrograph.png"
expect 0 "mIoU 1\.0000" -- "$cli" eval --task semseg --pred "$tmp/datus_one/masks" --gt "$tmp/datus_one/masks"
if have_python_imaging "DatUS² masks scored against a truth without 255"; then # 255 in a prediction is not scored: the truth there may be anything
    mkdir -p "$tmp/datus_gt"
    /usr/bin/python3 -c "
import sys, numpy
from PIL import Image
noise = 0
for n in ('baseline', 'grey8', 'rgb8', 'micrograph'):
    a = numpy.array(Image.open(sys.argv[1] + '/' + n + '.png'))
    noise += (a == 255).sum()
    a[a == 255] = 0
    Image.fromarray(a).save(sys.argv[2] + '/' + n + '.png')
assert noise > 0, 'no unlabelled pixel to test with'" "$tmp/datus_one/masks" "$tmp/datus_gt"
    expect 0 "mIoU 1\.0000" -- "$cli" eval --task semseg --pred "$tmp/datus_one/masks" --gt "$tmp/datus_gt"
fi

# STEGO: KNN table, training (and its exact resume), prediction, refusals.
stego=(--model $models/dino_s8.pth --heads 2 --side 32)
expect 0 "knn: 20 crops, 20 neighbours each" -- "$cli" stego knn "${stego[@]}" --images "$tmp/datus_in" --out "$tmp/knn.bin"
# kill-and-resume: 20 steps, then 10 more in a new process = 30 steps straight, byte for byte
expect 0 "step 30/30: total" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/straight.dfstego" --steps 30 --batch 4 --classes 3 --log-every 10
expect 0 "step 20/20: total" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/resumed.dfstego" --steps 20 --batch 4 --classes 3 --log-every 10
# a run stopped between two checkpoints left rows past the last one: they are redone, not repeated
expect 0 "" -- sh -c "echo 21,9,9,9,9,9,9 >> '$tmp/resumed.dfstego.csv'"
expect 0 "resuming from" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/resumed.dfstego" --steps 30 --batch 4 --classes 3 --log-every 10
expect 0 "" -- cmp "$tmp/straight.dfstego" "$tmp/resumed.dfstego"
# a resumed training keeps its settings: other ones asked for are refused, naming both values
expect 2 "trained with --classes 3, not 5" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/resumed.dfstego" --steps 31 --batch 4 --classes 5
expect 2 "trained with --seed 0, not 7" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/resumed.dfstego" --steps 31 --batch 4 --classes 3 --seed 7
expect 0 "" -- cmp "$tmp/straight.dfstego.csv" "$tmp/resumed.dfstego.csv"
# a device this build or machine lacks is refused, for a new training and a resumed one alike
expect 2 "stego.device cuda:63: " -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/nowhere.dfstego" --steps 1 --batch 4 --classes 3 --set stego.device=cuda:63
expect 2 "[^.]device cuda:63: " -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/resumed.dfstego" --steps 31 --batch 4 --classes 3 --set stego.device=cuda:63
# mixed precision: the head's products in bfloat16, recorded in the file; float16 is refused
expect 0 "step 2/2: total" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/mixed.dfstego" --steps 2 --batch 4 --classes 3 --log-every 1 --set stego.precision=bfloat16
expect 0 '"precision": 3' -- sh -c "head -c 2000 '$tmp/mixed.dfstego' | tr -d '\\000'"
expect 2 "stego.precision float16: " -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --out "$tmp/nowhere.dfstego" --steps 1 --batch 4 --classes 3 --set stego.precision=float16
expect 0 "size: 800 x 450" -- "$cli" info --image "$tmp/straight.dfstego.png"
# A loss plot a person reads: numbers beside the y axis and under the x axis, the axis titles, and
# a legend holding a line of each curve's colour.
plot_is_readable() { # PNG SERIES
    have_python_imaging "the loss plot check" || { echo readable; return; }
    /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
import numpy as np
from PIL import Image
p = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
dark = p.sum(axis=2) < 150
left_numbers = dark[40:398, 0:70].sum()       # tick labels left of the y axis
bottom_numbers = dark[404:420, 78:776].sum()   # tick labels under the x axis
x_title = dark[428:446, 300:500].sum()
legend = p[48:140, 560:776].reshape(-1, 3)
colours = {tuple(c) for c in legend if max(c) - min(c) > 60}  # saturated: the curves' colours
assert left_numbers > 100 and bottom_numbers > 100 and x_title > 30, (left_numbers, bottom_numbers, x_title)
assert len(colours) >= int(sys.argv[2]), colours
print("readable")
PY
}
expect 0 "^readable$" -- plot_is_readable "$tmp/straight.dfstego.png" 5
# Ctrl-C / SIGTERM: the step under way ends, the checkpoint and the log are saved, the exit code is
# 128 + the signal, and the same command resumes: stopped after step k, then run to k + 5 = k + 5
# steps straight, byte for byte. stop_during RUN_LOG SIGNAL COMMAND...: signals the command once its
# first step is logged; prints the step it stopped after.
stop_during() {
    local log=$1 signal=$2; shift 2
    : >"$log" # there before the loop reads it (the child opens it only once it runs)
    "$@" >"$log" 2>&1 &
    local pid=$!
    # no time limit: a slow machine only waits longer (the loop ends if the run ends first)
    while kill -0 $pid 2>/dev/null && ! grep -q "^step 1" "$log"; do sleep 0.05; done
    kill -"$signal" $pid
    wait $pid
    echo "exit $?" >>"$log"
    sed -n 's/.*stopped by .* after step \([0-9]*\);.*/\1/p' "$log"
}
stego_stop=(stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" --batch 4 --classes 3 --log-every 1)
k=$(stop_during "$tmp/stopped.log" INT "$cli" "${stego_stop[@]}" --out "$tmp/stopped.dfstego" --steps 100000)
expect 0 "stopped by Ctrl-C \(SIGINT\) after step [0-9]+; saved .*stopped\.dfstego; run the same command again" -- \
    cat "$tmp/stopped.log"
expect 0 "^exit 130$" -- tail -1 "$tmp/stopped.log"
expect 0 "step $((k + 5))/$((k + 5)): total" -- "$cli" "${stego_stop[@]}" --out "$tmp/stopped.dfstego" --steps $((k + 5))
expect 0 "step $((k + 5))/$((k + 5)): total" -- "$cli" "${stego_stop[@]}" --out "$tmp/unstopped.dfstego" --steps $((k + 5))
expect 0 "" -- cmp "$tmp/stopped.dfstego" "$tmp/unstopped.dfstego"
expect 0 "" -- cmp "$tmp/stopped.dfstego.csv" "$tmp/unstopped.dfstego.csv"
expect 0 "step 2/2: total" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" \
    --labels "$tmp/datus_one/masks" --out "$tmp/labelled.dfstego" --steps 2 --batch 4 --classes 3 --log-every 1
expect 0 "^2,.*,[0-9.]*[1-9][0-9.e-]*$" -- tail -1 "$tmp/labelled.dfstego.csv"
# data-parallel: two ranks (Gloo built in, as the launch tests need); stopped at step 20 and resumed
# equals straight through
expect 0 "; process groups gloo" -- "$cli" --version
expect 0 "step 30/30: total" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" stego train "${stego[@]}" \
    --images "$tmp/datus_in" --knn "$tmp/knn.bin" --out "$tmp/two.dfstego" --steps 30 --batch 4 --classes 3 --log-every 10
expect 0 "step 20/20: total" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" stego train "${stego[@]}" \
    --images "$tmp/datus_in" --knn "$tmp/knn.bin" --out "$tmp/two_resumed.dfstego" --steps 20 --batch 4 --classes 3 \
    --log-every 10
expect 0 "step 30/30: total" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" stego train "${stego[@]}" \
    --images "$tmp/datus_in" --knn "$tmp/knn.bin" --out "$tmp/two_resumed.dfstego" --steps 30 --batch 4 --classes 3 \
    --log-every 10
expect 0 "" -- cmp "$tmp/two.dfstego" "$tmp/two_resumed.dfstego"
expect 0 "" -- cmp "$tmp/two.dfstego.csv" "$tmp/two_resumed.dfstego.csv"
expect 0 "^31$" -- sh -c "wc -l < '$tmp/two.dfstego.csv'"
# killed (SIGTERM to launch) between two checkpoints, then resumed: the uninterrupted run's result
two_stego=(--images "$tmp/datus_in" --knn "$tmp/knn.bin" --steps 200 --batch 4 --classes 3 --log-every 20)
expect 0 "step 200/200: total" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" stego train "${stego[@]}" \
    "${two_stego[@]}" --out "$tmp/two_straight.dfstego"
"$cli" launch --nproc 2 --timeout 60 -- "$cli" stego train "${stego[@]}" "${two_stego[@]}" \
    --out "$tmp/two_killed.dfstego" >"$tmp/killed.log" 2>&1 &
launched=$!
while kill -0 $launched 2>/dev/null && [ ! -e "$tmp/two_killed.dfstego" ]; do sleep 0.1; done
kill -TERM $launched
wait $launched
expect 0 "rank [01] (was killed by signal 15|exited with status 143)" -- cat "$tmp/killed.log"
expect 0 "resuming from" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" stego train "${stego[@]}" \
    "${two_stego[@]}" --out "$tmp/two_killed.dfstego"
expect 0 "" -- cmp "$tmp/two_killed.dfstego" "$tmp/two_straight.dfstego"
expect 0 "" -- cmp "$tmp/two_killed.dfstego.csv" "$tmp/two_straight.dfstego.csv"
# launch divides the cores among the ranks unless OMP_NUM_THREADS says otherwise (the test's own
# environment may set it)
expect 0 "for each of the 2 ranks" -- env -u OMP_NUM_THREADS "$cli" launch --nproc 2 -- true
expect 0 "^ok$" -- bash -c "OMP_NUM_THREADS=1 '$cli' launch --nproc 2 -- true 2>&1 | grep -q 'for each of the' || echo ok"
expect 0 "^Usage: dinofeat stego" -- "$cli" launch --nproc 2 -- "$cli" stego --help
expect 2 "3 processes need at least 3 images in every batch" -- "$cli" launch --nproc 3 --timeout 60 -- \
    "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/knn.bin" --out "$tmp/x.dfstego" --steps 2 \
    --batch 2 --classes 3
expect 0 "wrote .*stego_ov\.png" -- "$cli" stego predict "${stego[@]}" --head "$tmp/straight.dfstego" \
    --image fixtures/weak/micrograph.png --out "$tmp/stego.png" --overlay "$tmp/stego_ov.png" --crf
expect 0 "size: 256 x 256" -- "$cli" info --image "$tmp/stego.png"
expect 0 "segmented 4 image" -- "$cli" stego predict "${stego[@]}" --head "$tmp/straight.dfstego" \
    --images "$tmp/datus_in" --out-dir "$tmp/stego_out"
expect 2 "this head was trained on dino dim 16" -- "$cli" stego predict --model $models/dinov2_s14.pth --heads 2 \
    --head "$tmp/straight.dfstego" --image fixtures/weak/micrograph.png --out "$tmp/x.png"
mkdir -p "$tmp/stego_two" && cp fixtures/images/rgb8.png fixtures/images/grey8.png "$tmp/stego_two/"
expect 2 "has 20 crops, the cache 10" -- "$cli" stego train "${stego[@]}" --images "$tmp/stego_two" \
    --cache "$tmp/two.dffeat" --knn "$tmp/knn.bin" --out "$tmp/x.dfstego"
expect 1 "unknown sub-command 'fly'" -- "$cli" stego fly
expect 1 "--knn and --out are required" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in"
expect 1 "--preset is code or paper, not 'best'" -- "$cli" stego train "${stego[@]}" --preset best
# validated before any work: a missing KNN table is named and no feature cache is written for it;
# nothing to do is a usage error
expect 2 "missing\.bin: cannot open" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" \
    --knn "$tmp/missing.bin" --out "$tmp/x.dfstego" --steps 2
expect 0 "^no cache$" -- bash -c "test -e '$tmp/missing.bin.dffeat' || echo no cache"
expect 1 "--steps takes a whole number 1\.\." -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" \
    --knn "$tmp/knn.bin" --out "$tmp/x.dfstego" --steps 0
# a broken image in the folder is left out and listed (one policy for every verb that reads a folder)
mkdir -p "$tmp/stego_broken" && cp "$tmp"/datus_in/* "$tmp/stego_broken/" && printf 'not a png' > "$tmp/stego_broken/zz.png"
expect 0 "zz\.png: .*(not a PNG|signature)" -- "$cli" stego knn "${stego[@]}" --images "$tmp/stego_broken" \
    --out "$tmp/broken_knn.bin"
expect 0 "knn: 20 crops" -- "$cli" stego knn "${stego[@]}" --images "$tmp/stego_broken" --out "$tmp/broken_knn.bin"
expect 2 "not a dinofeat STEGO trainer file" -- "$cli" stego predict "${stego[@]}" --head "$tmp/knn.bin" \
    --image fixtures/weak/micrograph.png --out "$tmp/x.png"

# Sempart on a synthetic saliency set, scored beside TokenCut by dinofeat eval (both printed)
python3 ../examples/make_saliency_set.py "$tmp/sal" --count 6 --size 48 >/dev/null
sempart=(--model $models/dino_s8.pth --heads 2 --side 32)
sempart_model=(--model $models/dino_s8.pth --heads 2)
expect 0 "step 6/6 \(epoch 3\): total" -- "$cli" sempart train "${sempart[@]}" --images "$tmp/sal/images" \
    --out "$tmp/sp.dfsempart" --epochs 3 --batch 4 --log-every 2
expect 0 "step 4/4 \(epoch 2\)" -- "$cli" sempart train "${sempart[@]}" --images "$tmp/sal/images" \
    --out "$tmp/sp_resumed.dfsempart" --epochs 2 --batch 4 --log-every 2
expect 0 "resuming from" -- "$cli" sempart train "${sempart[@]}" --images "$tmp/sal/images" \
    --out "$tmp/sp_resumed.dfsempart" --epochs 3 --batch 4 --log-every 2
expect 0 "" -- cmp "$tmp/sp.dfsempart" "$tmp/sp_resumed.dfsempart"
expect 0 "" -- cmp "$tmp/sp.dfsempart.csv" "$tmp/sp_resumed.dfsempart.csv"
expect 0 "size: 800 x 450" -- "$cli" info --image "$tmp/sp.dfsempart.png"
expect 0 "^readable$" -- plot_is_readable "$tmp/sp.dfsempart.png" 2
# SIGTERM: stopped after the step under way and saved (exit 143); the rerun ends where a straight run does
sp_stop=(sempart train "${sempart[@]}" --images "$tmp/sal/images" --epochs 40 --batch 4 --log-every 1)
stop_during "$tmp/sp_stopped.log" TERM "$cli" "${sp_stop[@]}" --out "$tmp/sp_stopped.dfsempart" >/dev/null
expect 0 "stopped by SIGTERM after step [0-9]+; saved .*sp_stopped\.dfsempart; run the same command" -- cat "$tmp/sp_stopped.log"
expect 0 "^exit 143$" -- tail -1 "$tmp/sp_stopped.log"
expect 0 "resuming from" -- "$cli" "${sp_stop[@]}" --out "$tmp/sp_stopped.dfsempart"
expect 0 "step 80/80" -- "$cli" "${sp_stop[@]}" --out "$tmp/sp_straight.dfsempart"
expect 0 "" -- cmp "$tmp/sp_stopped.dfsempart" "$tmp/sp_straight.dfsempart"
expect 0 "" -- cmp "$tmp/sp_stopped.dfsempart.csv" "$tmp/sp_straight.dfsempart.csv"
expect 2 "resume it with the same batch" -- "$cli" sempart train "${sempart[@]}" --images "$tmp/sal/images" \
    --out "$tmp/sp_resumed.dfsempart" --epochs 4 --batch 2
expect 0 "predicted 6 image" -- "$cli" sempart predict "${sempart_model[@]}" --sempart "$tmp/sp.dfsempart" \
    --images "$tmp/sal/images" --out-dir "$tmp/sp_out"
expect 0 "size: 48 x 48" -- "$cli" info --image "$tmp/sp_out/masks/003.png"
expect 0 "size: 4 x 4" -- "$cli" info --image "$tmp/sp_out/coarse/003.png"
expect 0 "channels: 3" -- "$cli" info --image "$tmp/sp_out/overlay/003.png"
expect 0 '"components": \[' -- cat "$tmp/sp_out/boxes/003.json"
expect 0 "predicted 1 image" -- "$cli" sempart predict "${sempart_model[@]}" --sempart "$tmp/sp.dfsempart" \
    --image "$tmp/sal/images/000.png" --out-dir "$tmp/sp_one" --select attention
mkdir -p "$tmp/tc/masks" "$tmp/tc/boxes"
for image in "$tmp"/sal/images/*.png; do
    name=$(basename "$image" .png)
    "$cli" tokencut --model $models/dino_s8.pth --heads 2 --image "$image" --mask "$tmp/tc/masks/$name.png" \
        --boxes "$tmp/tc/boxes/$name.json" >/dev/null || echo "tokencut failed on $image"
done
for method in tc sp_out; do
    expect 0 "saliency: 6 images" -- "$cli" eval --pred "$tmp/$method/masks" --gt "$tmp/sal/masks" --task saliency
    expect 0 "corloc: 6 images" -- "$cli" eval --pred "$tmp/$method/boxes" --gt "$tmp/sal/boxes" --task corloc
done
for method in tc sp_out; do # both methods' scores, side by side (the tiny random backbone: not a benchmark)
    label=TokenCut && [ $method = sp_out ] && label=Sempart
    echo "  $label: $("$cli" eval --pred "$tmp/$method/masks" --gt "$tmp/sal/masks" --task saliency | tail -1)" \
        "$("$cli" eval --pred "$tmp/$method/boxes" --gt "$tmp/sal/boxes" --task corloc | tail -1)"
done
expect 2 "trained on dino dim 16" -- "$cli" sempart predict --model $models/dinov2_s14.pth --heads 2 \
    --sempart "$tmp/sp.dfsempart" --image "$tmp/sal/images/000.png" --out-dir "$tmp/x"
expect 2 "not a dinofeat Sempart file" -- "$cli" sempart predict "${sempart_model[@]}" --sempart "$tmp/knn.bin" \
    --image "$tmp/sal/images/000.png" --out-dir "$tmp/x"
expect 1 "unknown sub-command 'fly'" -- "$cli" sempart fly
expect 1 "--images and --out are required" -- "$cli" sempart train "${sempart[@]}"
expect 1 "--select middle: parameter .sempart.select. takes corners, centrality" -- "$cli" sempart predict "${sempart_model[@]}" --select middle
expect 1 "--branches is coarse, fine or both" -- "$cli" sempart train "${sempart[@]}" --branches all
expect 1 "--epochs takes a whole number" -- "$cli" sempart train "${sempart[@]}" --epochs -1

# dinofeat paper: each protocol on a replica of its dataset, scores computed by hand. TokenCut on
# 16 x 8 images of patch 8 splits the two patches: its box is either half, and its mask either half.
paper=(--model $models/dino_s8.pth --heads 2)
voc="$tmp/paper_voc/VOCdevkit/VOC2007"; mkdir -p "$voc/JPEGImages" "$voc/Annotations" "$voc/ImageSets/Main"
ecssd="$tmp/paper_ecssd"; mkdir -p "$ecssd/images" "$ecssd/ground_truth_mask"
city="$tmp/paper_city"; mkdir -p "$city/leftImg8bit/val/aachen" "$city/gtFine/val/aachen"
if have_python_imaging "dinofeat paper's replicas"; then
    /usr/bin/python3 - "$voc" "$ecssd" "$city" <<'PY'
import sys
import numpy as np
from PIL import Image
voc, ecssd, city = sys.argv[1:]
rng = np.random.default_rng(0)
for name in ("000001", "000002"):
    Image.fromarray(rng.integers(0, 256, (8, 16, 3), dtype=np.uint8)).save(f"{voc}/JPEGImages/{name}.jpg")
    Image.fromarray(rng.integers(0, 256, (8, 16, 3), dtype=np.uint8)).save(f"{ecssd}/images/{name}.jpg")
    mask = np.zeros((8, 16), np.uint8)
    mask[:4] = 255  # the top half: either predicted half hits half of it
    Image.fromarray(mask).save(f"{ecssd}/ground_truth_mask/{name}.png")
# 20 wide at patch 8: 2.5 patches, 2 as Python rounds (3 would give other figures)
Image.fromarray(rng.integers(0, 256, (8, 20, 3), dtype=np.uint8)).save(f"{ecssd}/images/000003.jpg")
mask = np.zeros((8, 20), np.uint8)
mask[:4] = 255
Image.fromarray(mask).save(f"{ecssd}/ground_truth_mask/000003.png")
Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(f"{city}/leftImg8bit/val/aachen/a_000000_000019_leftImg8bit.png")
ids = np.full((48, 64), 7, np.uint8)  # road (class 0) on 36 rows, car (26: class 19) on 12
ids[36:] = 26
Image.fromarray(ids).save(f"{city}/gtFine/val/aachen/a_000000_000019_gtFine_labelIds.png")
PY
    printf '000001\n000002\n' > "$voc/ImageSets/Main/trainval.txt"
    box() { printf '<object><bndbox><xmin>%d</xmin><ymin>1</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox></object>' "$@"; }
    # image 1: a box over each half and a bit (IoU 0.8 with either predicted half); image 2: a 2 x 2
    # box no half can hit. CorLoc 1/2.
    echo "<annotation>$(box 1 10 8)$(box 7 16 8)</annotation>" > "$voc/Annotations/000001.xml"
    echo "<annotation>$(box 1 2 2)</annotation>" > "$voc/Annotations/000002.xml"
    expect 0 "CorLoc +50\.0 +68\.8" -- "$cli" paper tokencut-voc07 "${paper[@]}" --data "$tmp/paper_voc" \
        --out "$tmp/paper_tc" --json "$tmp/paper_tc.json"
    expect 0 '"ours": \[50\], "published": \[68\.8\]' -- cat "$tmp/paper_tc.json"
    # a rerun keeps the predictions there: one made to miss by hand turns CorLoc to 0
    printf '{"boxes": [{"class": 1, "box": [0, 0, 1, 1]}]}\n' > "$tmp/paper_tc/000001.json"
    expect 0 "2 of them kept from an earlier run" -- "$cli" paper tokencut-voc07 "${paper[@]}" --data "$tmp/paper_voc" --out "$tmp/paper_tc"
    expect 0 "CorLoc +0\.0 +68\.8" -- "$cli" paper tokencut-voc07 "${paper[@]}" --data "$tmp/paper_voc" --out "$tmp/paper_tc"
    # COCO-20k as train2014.zip and the annotations unpack: the same two images and boxes as COCO's
    # [x, y, w, h], a crowd box that would hit left out
    coco="$tmp/paper_coco"; mkdir -p "$coco/train2014" "$coco/annotations"
    cp "$voc/JPEGImages/000001.jpg" "$coco/train2014/COCO_train2014_000000000001.jpg"
    cp "$voc/JPEGImages/000002.jpg" "$coco/train2014/COCO_train2014_000000000002.jpg"
    printf 'train2014/COCO_train2014_000000000001.jpg\ntrain2014/COCO_train2014_000000000002.jpg\n' > "$coco/coco_20k_filenames.txt"
    printf '{"annotations": [{"image_id": 1, "bbox": [0, 0, 10, 8], "iscrowd": 0}, {"image_id": 1, "bbox": [6, 0, 10, 8]},
        {"image_id": 2, "bbox": [0, 0, 2, 2], "iscrowd": 0}, {"image_id": 2, "bbox": [0, 0, 10, 8], "iscrowd": 1},
        {"image_id": 2, "bbox": [6, 0, 10, 8], "iscrowd": 1}]}' \
        > "$coco/annotations/instances_train2014.json"
    expect 0 "CorLoc +50\.0 +58\.8" -- "$cli" paper tokencut-coco20k "${paper[@]}" --data "$coco" --out "$tmp/paper_coco_out"
    expect 2 "paper_tc holds the predictions of another command" -- "$cli" paper tokencut-voc07 "${paper[@]}" \
        --data "$tmp/paper_voc" --out "$tmp/paper_tc" --set tokencut.tau=0.3
    expect 2 "paper_tc holds the predictions of another command" -- "$cli" paper tokencut-voc12 "${paper[@]}" \
        --data "$tmp/paper_voc" --out "$tmp/paper_tc"
    # saliency: half the image predicted, the top half true: IoU 1/3, accuracy 1/2; maxF_beta at the
    # threshold 0 (all foreground): P 1/2, R 1, 1.3 x 0.5 / 1.15 = 0.5652
    for row in "accuracy +50\.0 +91\.8" "IoU +33\.3 +71\.2" "maxF_beta +56\.5 +80\.3"; do
        expect 0 "^  $row$" -- "$cli" paper tokencut-ecssd "${paper[@]}" --data "$ecssd" --out "$tmp/paper_sal"
    done
    # STEGO with one cluster on Cityscapes: resized to 320 x 427, centre-cropped, 3/4 of the pixels
    # road: the cluster matches road, IoU 0.75 for it and 0 for car (the classes absent count not)
    expect 0 "knn: " -- "$cli" stego knn "${stego[@]}" --images "$tmp/datus_in" --out "$tmp/paper_knn.bin"
    expect 0 "step 2/2" -- "$cli" stego train "${stego[@]}" --images "$tmp/datus_in" --knn "$tmp/paper_knn.bin" \
        --out "$tmp/one.dfstego" --steps 2 --batch 2 --classes 1
    for row in "mIoU +37\.5 +21\.0" "accuracy +75\.0 +73\.2"; do
        expect 0 "^  $row$" -- "$cli" paper stego-cityscapes27 "${paper[@]}" --head "$tmp/one.dfstego" --data "$city" \
            --out "$tmp/paper_stego"
    done
    # Potsdam-3 from the .mat fixtures (7 x 5, every row's labels 0 1 2 3 4 5 255 -> classes 0 1 2 2 0
    # 1 -): to 448 x 320 and the centre 320 from x = 64, stored columns 1..5 64 pixels each, so
    # classes 1, 2, 2, 0, 1; one cluster matched to class 1 or 2 (tied at 2/5): accuracy 40%, IoU
    # 0.4 for that class, 0 for the other two, mIoU 13.3%
    potsdam="$tmp/paper_potsdam/potsdam"; mkdir -p "$potsdam/imgs" "$potsdam/gt"
    cp fixtures/mat/img.mat "$potsdam/imgs/2_13_4.mat"; cp fixtures/mat/gt.mat "$potsdam/gt/2_13_4.mat"
    echo 2_13_4 > "$potsdam/labelled_test.txt"
    for row in "mIoU +13\.3 +-" "accuracy +40\.0 +77\.0"; do
        expect 0 "^  $row$" -- "$cli" paper stego-potsdam3 "${paper[@]}" --head "$tmp/one.dfstego" \
            --data "$tmp/paper_potsdam" --out "$tmp/paper_potsdam_out"
    done
    expect 0 "wrote .*potsdam\.json" -- "$cli" paper stego-potsdam3 "${paper[@]}" --head "$tmp/one.dfstego" \
        --data "$tmp/paper_potsdam" --out "$tmp/paper_potsdam_out" --json "$tmp/potsdam.json"
    expect 0 '"published": \[null, 77\.0\]' -- cat "$tmp/potsdam.json"
    # NeCo's clustering on VOC12's segmentation val list: three flat 64 x 48 images and a model whose
    # position embeddings are zero, so every patch of an image gives one token and K = 3 makes each
    # image a cluster. a: class 1; b: class 2 on 48 of its 64 columns, class 3 on 16; c: class 1.
    # Stretched to 448 (b's split at column 336) and resized to 100 by PyTorch's nearest (column 75
    # reads 75 x 4.48f = 336.0000014: class 3): b is 75% class 2. Clusters to classes 1, 2, 1:
    # IoU 1, 0.75 and 0 for class 3, mIoU 58.3 (a centre crop in place of the stretch: 61.3).
    /usr/bin/python3 - "$tmp/neco" "$models/dino_s8_hf.safetensors" <<'PY'
import json, os, shutil, struct, sys
import numpy as np
from PIL import Image
root, model = sys.argv[1:]
voc = f"{root}/VOCdevkit/VOC2012"
for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
    os.makedirs(f"{voc}/{folder}", exist_ok=True)
for name, colour, columns in (("a", (200, 30, 30), {1: (0, 64)}), ("b", (30, 200, 30), {2: (0, 48), 3: (48, 64)}),
                              ("c", (30, 30, 200), {1: (0, 64)})):
    Image.new("RGB", (64, 48), colour).save(f"{voc}/JPEGImages/{name}.jpg", quality=95)
    mask = np.zeros((48, 64), np.uint8)
    for value, (first, last) in columns.items():
        mask[:, first:last] = value
    png = Image.fromarray(mask, "P")
    png.putpalette([0, 0, 0] * 256)
    png.save(f"{voc}/SegmentationClass/{name}.png")
    # the same images as COCO-Things, category ids: person (1), bottle (44) and bicycle (2) are
    # supercategories 9, 7 and 11
    coco = f"{root}/coco"
    os.makedirs(f"{coco}/images/val2017", exist_ok=True)
    os.makedirs(f"{coco}/annotations/val2017", exist_ok=True)
    shutil.copyfile(f"{voc}/JPEGImages/{name}.jpg", f"{coco}/images/val2017/{name}.jpg")
    ids = np.choose(mask, [0, 1, 44, 2], mode="clip").astype(np.uint8)
    Image.fromarray(ids).save(f"{coco}/annotations/val2017/{name}.png")
with open(f"{voc}/ImageSets/Segmentation/val.txt", "w") as f:
    f.write("a\nb\nc\n")
raw = bytearray(open(model, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
begin, end = json.loads(raw[8:8 + n])["embeddings.position_embeddings"]["data_offsets"]
raw[8 + n + begin:8 + n + end] = bytes(end - begin)
open(f"{root}/flat.safetensors", "wb").write(raw)
PY
    neco=(--model "$tmp/neco/flat.safetensors" --heads 2 --data "$tmp/neco")
    expect 0 "^  K=3 +58\.3 +-$" -- "$cli" paper neco-voc12-clustering "${neco[@]}" --out "$tmp/neco_out" --clusterings 3 \
        --json "$tmp/neco.json"
    expect 0 '"k": \[3\], "ours": \[58\.333' -- cat "$tmp/neco.json"
    expect 0 "^  K=3 +58\.3 +-$" -- "$cli" paper neco-cocothings-clustering --model "$tmp/neco/flat.safetensors" \
        --heads 2 --data "$tmp/neco/coco" --out "$tmp/neco_coco" --clusterings 3
    expect 0 "^  K=3 +61\.3 +-$" -- "$cli" paper neco-voc12-clustering "${neco[@]}" --out "$tmp/neco_crop" --clusterings 3 \
        --set dataset.stretch=0
    expect 1 "--clusterings takes up to 16 comma-separated K values" -- "$cli" paper neco-voc12-clustering "${neco[@]}" \
        --clusterings 3,1
    expect 2 "K = 20000 exceeds the dataset's 9408 tokens" -- "$cli" paper neco-voc12-clustering "${neco[@]}" \
        --out "$tmp/neco_out" --clusterings 20000
    expect 2 "neco_out holds the predictions of another command" -- "$cli" paper neco-voc12-clustering "${neco[@]}" \
        --out "$tmp/neco_out" --clusterings 3 --set dataset.size=224
    # NeCo's linear probe: trained on VOC12's trainaug list (masks in SegmentationClassAug), two
    # red images all class 1 and two green ones all class 2, so that the frozen flat model's tokens
    # tell the classes apart by colour; scored on the val list above (a, c red: class 1; b green:
    # class 2 on 75 of its 100 columns at 100 x 100, class 3 on 25; c's blue made red here). The
    # probe predicts 1, 2, 1: IoU 1 for class 1, 7500 / 10000 = 0.75 for class 2, 0 for class 3:
    # mIoU 58.3; accuracy 27500 / 30000 = 91.7.
    /usr/bin/python3 - "$tmp/neco" <<'PY'
import os, sys
import numpy as np
from PIL import Image
voc = f"{sys.argv[1]}/VOCdevkit/VOC2012"
os.makedirs(f"{voc}/SegmentationClassAug", exist_ok=True)
red, green = (200, 30, 30), (30, 200, 30)
for name, colour, value in (("r1", red, 1), ("r2", red, 1), ("g1", green, 2), ("g2", green, 2), ("c", red, None)):
    Image.new("RGB", (64, 48), colour).save(f"{voc}/JPEGImages/{name}.jpg", quality=95)
    if value is not None:
        png = Image.fromarray(np.full((48, 64), value, np.uint8), "P")
        png.putpalette([0, 0, 0] * 256)
        png.save(f"{voc}/SegmentationClassAug/{name}.png")
with open(f"{voc}/ImageSets/Segmentation/trainaug.txt", "w") as f:
    f.write("r1\nr2\ng1\ng2\n")
PY
    linear=(paper neco-voc12-linear "${neco[@]}" --out "$tmp/linear_out" --batch 2)
    expect 0 "^  mIoU +58\.3 +81\.3$" -- "$cli" "${linear[@]}" --epochs 10 --json "$tmp/linear.json"
    expect 0 '"training_images": 4, "epochs": 10, "ours": \{"mIoU": 58\.333.*"accuracy": 91\.666' -- cat "$tmp/linear.json"
    expect 0 "^  accuracy +91\.7 +-$" -- "$cli" "${linear[@]}" --epochs 10
    expect 0 "resuming from .*linear_out/probe\.dfprobe after epoch 10" -- "$cli" "${linear[@]}" --epochs 12
    expect 0 "^epoch 12/12: mean loss" -- "$cli" "${linear[@]}" --epochs 12 --out "$tmp/linear_fresh" --set probe.drop_at=5
    expect 2 "linear_out holds the predictions of another command" -- "$cli" "${linear[@]}" --batch 3
    expect 1 "--epochs takes a whole number 1\.\.1000000, not '0'" -- "$cli" "${linear[@]}" --epochs 0
    expect 2 "the model gives 111 x 111 tokens of a 448 x 448 crop, the protocol's 56 x 56" -- "$cli" \
        "${linear[@]}" --out "$tmp/linear_stride" --stride 4
    # NeCo's in-context protocol (Hummingbird's) on the same replica: the memory from the trainaug
    # list (two red images all class 1, two green ones all class 2) whose flat images give each
    # one token everywhere, jitter or not; each val patch's 30 nearest memory patches are those of
    # a training image of its colour, so a and c (red) are labelled 1 everywhere and b (green) 2.
    # At 448 x 448 b holds class 2 on 336 of its 448 columns and class 3 on the rest: matched one
    # to one, IoU 1, 0.75 and 0: mIoU 58.3 (as the linear probe's, here at 448, not 100).
    incontext=(paper neco-voc12-incontext "${neco[@]}")
    expect 0 "^  mIoU +58\.3 +78\.9$" -- "$cli" "${incontext[@]}" --out "$tmp/incontext" --json "$tmp/incontext.json"
    expect 0 '"memory_images": \[4\], "ours": \{"mIoU": 58\.333' -- cat "$tmp/incontext.json"
    expect 0 "a memory of 3136 patches from each of 4 Segmentation/trainaug images" -- "$cli" "${incontext[@]}" \
        --out "$tmp/incontext"
    # a memory of 200 patches: 50 an image, chosen by rarity and noise; still 58.3
    expect 0 "a memory of 50 patches from each of 4 .*
.*
.*
.*mIoU +58\.3 +78\.9" -- "$cli" "${incontext[@]}" --out "$tmp/incontext_small" --set retrieval.bank=200
    printf 'r1\ng1\n' > "$tmp/neco/half_a.txt"; printf 'r2\ng2\n' > "$tmp/neco/half_b.txt"
    fraction=(paper neco-voc12-incontext-8 "${neco[@]}" --out "$tmp/incontext_8")
    expect 0 "memory of .*half_b\.txt \(2 images\): mIoU 58\.3" -- "$cli" "${fraction[@]}" \
        --train-lists "$tmp/neco/half_a.txt,$tmp/neco/half_b.txt" --json "$tmp/incontext_8.json"
    expect 0 '"memory_images": \[2, 2\], "ours": \{"mIoU": 58\.333[0-9]*, "mIoU_each": \[58\.333[0-9]*, 58\.333' -- \
        cat "$tmp/incontext_8.json"
    expect 0 "^  mIoU +58\.3 +76\.3$" -- "$cli" "${fraction[@]}" --train-lists "$tmp/neco/half_b.txt"
    expect 1 "neco-voc12-incontext-8 needs --train-lists: the official 1/8 subsets" -- "$cli" "${fraction[@]}"
    expect 1 "builds its memory from the whole Segmentation/trainaug split" -- "$cli" "${incontext[@]}" \
        --out "$tmp/incontext" --train-lists "$tmp/neco/half_a.txt"
    expect 1 "--train-lists takes 1\.\.16 comma-separated files" -- "$cli" "${fraction[@]}" --train-lists "a.txt,"
    expect 2 "no_such_list\.txt" -- "$cli" "${fraction[@]}" --train-lists "$tmp/neco/no_such_list.txt"
    expect 2 "takes an input side \(dataset\.size, 100\) that is a whole number of the model's 8-pixel patches" -- \
        "$cli" "${incontext[@]}" --out "$tmp/incontext_100" --set dataset.size=100
    expect 2 "the model gives 111 x 111 tokens of a 448 x 448 crop, the protocol's 56 x 56" -- "$cli" \
        "${incontext[@]}" --out "$tmp/incontext_stride" --stride 4
    # ADE20K: unlabelled pixels (0, "other") are a 151st class of the memory and not scored in val.
    # The red training images are all "other", the green ones class 3 (ours 2); val a (red) is all
    # class 2 (ours 1), b (green) class 3 on 48 of 64 columns and unlabelled on the rest. a is
    # labelled "other", matched to class 1; b's scored pixels are all class 2: mIoU 100.
    /usr/bin/python3 - "$tmp/neco/ade" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1] + "/ADEChallengeData2016"
red, green = (200, 30, 30), (30, 200, 30)
for split, name, colour, left, right in (("training", "r1", red, 0, 0), ("training", "r2", red, 0, 0),
                                         ("training", "g1", green, 3, 3), ("training", "g2", green, 3, 3),
                                         ("validation", "a", red, 2, 2), ("validation", "b", green, 3, 0)):
    os.makedirs(f"{root}/images/{split}", exist_ok=True)
    os.makedirs(f"{root}/annotations/{split}", exist_ok=True)
    Image.new("RGB", (64, 48), colour).save(f"{root}/images/{split}/ADE_{name}.jpg", quality=95)
    mask = np.full((48, 64), left, np.uint8)
    mask[:, 48:] = right
    Image.fromarray(mask).save(f"{root}/annotations/{split}/ADE_{name}.png")
PY
    expect 0 "^  mIoU +100\.0 +39\.8$" -- "$cli" paper neco-ade20k-incontext --model "$tmp/neco/flat.safetensors" \
        --heads 2 --data "$tmp/neco/ade" --out "$tmp/incontext_ade"
    rm "$tmp/neco/VOCdevkit/VOC2012/SegmentationClassAug/g2.png"
    expect 2 "SegmentationClassAug/g2\.png: cannot open" -- "$cli" "${linear[@]}" --out "$tmp/linear_missing"
    expect 2 "1 training and 0 val images were left out .*not over the whole splits" -- "$cli" "${linear[@]}" \
        --out "$tmp/linear_missing"
    expect 2 "1 memory and 0 val images were left out .*not over the whole splits" -- "$cli" "${incontext[@]}" \
        --out "$tmp/incontext_missing"
    # DatUS² on SUIM's TEST set: six flat 64 x 48 images and the model whose position embeddings
    # are zero, so all of an image's keys are alike, Louvain keeps one community and each image is
    # one segment; K = 6 gives each its own cluster. Masks (BMP, SUIM's colours): divers, robots,
    # fish, reefs; wrecks on 48 of 64 columns and water on 16; water. Matched one to one: IoU 1 for
    # the first four, wrecks 2304 / 3072 = 0.75, water 3072 / 3840 = 0.8: mIoU 92.50, accuracy
    # 17664 / 18432 = 95.83; F1 1 for four, 4608 / 5376 and 6144 / 6912 for the others: 95.77
    /usr/bin/python3 - "$tmp/suim" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1] + "/SUIM/TEST"
os.makedirs(f"{root}/images", exist_ok=True)
os.makedirs(f"{root}/masks", exist_ok=True)
divers, robots, fish, reefs, wrecks, water = (0, 0, 255), (255, 0, 0), (255, 255, 0), (255, 0, 255), (0, 255, 255), (0, 0, 0)
for i, (photo, left, right) in enumerate([((200, 30, 30), divers, divers), ((30, 200, 30), robots, robots),
                                          ((30, 30, 200), fish, fish), ((200, 200, 30), reefs, reefs),
                                          ((30, 200, 200), wrecks, water), ((200, 30, 200), water, water)]):
    Image.new("RGB", (64, 48), photo).save(f"{root}/images/d_r_{i}_.jpg", quality=95)
    mask = np.zeros((48, 64, 3), np.uint8)
    mask[:, :48], mask[:, 48:] = left, right
    Image.fromarray(mask).save(f"{root}/masks/d_r_{i}_.bmp")
PY
    datus_paper=(--model "$tmp/neco/flat.safetensors" --heads 2 --data "$tmp/suim" --set datus.size=64)
    for row in "mIoU +92\.50 +28\.48" "accuracy +95\.83 +64\.67" "mean F1 +95\.77 +39\.52"; do
        expect 0 "^  $row$" -- "$cli" paper datus-suim "${datus_paper[@]}" --out "$tmp/suim_out"
    done
    expect 0 "resumed: 6 of 6 images were recorded already" -- "$cli" paper datus-suim "${datus_paper[@]}" \
        --out "$tmp/suim_out" --json "$tmp/suim.json"
    expect 0 '"ours": \[92\.5, 95\.8333333[0-9]*, 95\.767195[0-9]*\], "published": \[28\.48, 64\.67, 39\.52\]' -- cat "$tmp/suim.json"
    expect 0 "segments in 6 clusters" -- "$cli" datus --model "$tmp/neco/flat.safetensors" --heads 2 --clusters 6 \
        --side 64 --images "$tmp/suim" --set dataset.layout=suim --out-dir "$tmp/suim_datus"
    expect 0 "mIoU 0\.9250" -- "$cli" eval --task semseg --pred "$tmp/suim_datus/masks" --gt "$tmp/suim" \
        --set dataset.layout=suim --clusters 6
    expect 2 "7 clusters but 6 valid segments" -- "$cli" paper datus-suim-k7 "${datus_paper[@]}" --out "$tmp/suim_k7"
    expect 1 "datus.size 4 is smaller than the model's 8-pixel patch" -- "$cli" paper datus-suim "${datus_paper[@]}" \
        --out "$tmp/suim_small" --set datus.size=4
    # STEGO's linear probe on COCO-Stuff-27: one 64 x 48 image, fine class 71 (tv: coarse 0) on its
    # top 12 rows and 0 (person: 9) below; to 320 (80 rows of class 0). The one-class head's probe
    # says class 0 everywhere, scored as it is: accuracy 25, IoU 0.25 and 0, mIoU 12.5; its
    # cluster, matched to person, gets 75 and 37.5
    coco27="$tmp/paper_coco27"; mkdir -p "$coco27/images/val2017" "$coco27/annotations/val2017" "$coco27/curated/val2017"
    /usr/bin/python3 -c "
import sys, numpy as np
from PIL import Image
Image.fromarray(np.random.default_rng(5).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(sys.argv[1] + '/images/val2017/000000000001.jpg')
fine = np.zeros((48, 64), np.uint8)
fine[:12] = 71
Image.fromarray(fine).save(sys.argv[1] + '/annotations/val2017/000000000001.png')" "$coco27"
    echo 000000000001 > "$coco27/curated/val2017/Coco164kFull_Stuff_Coarse_7.txt"
    for row in "mIoU +12\.5 +41\.0" "accuracy +25\.0 +76\.1"; do
        expect 0 "^  $row$" -- "$cli" paper stego-cocostuff27-linear "${paper[@]}" --head "$tmp/one.dfstego" \
            --data "$coco27" --out "$tmp/paper_coco27_linear"
    done
    expect 0 "^  accuracy +75\.0 +56\.9$" -- "$cli" paper stego-cocostuff27 "${paper[@]}" --head "$tmp/one.dfstego" \
        --data "$coco27" --out "$tmp/paper_coco27_cluster"
    expect 0 "none matching" -- "$cli" eval --pred "$tmp/paper_coco27_linear" --gt "$coco27" --task semseg \
        --protocol none --set dataset.layout=cocostuff27 --set dataset.size=320 --set dataset.filter=nearest
    expect 0 "wrote" -- "$cli" stego predict "${paper[@]}" --head "$tmp/one.dfstego" --probe linear \
        --image "$coco27/images/val2017/000000000001.jpg" --out "$tmp/linear_labels.png"
    expect 1 "--probe is cluster or linear" -- "$cli" stego predict "${paper[@]}" --head "$tmp/one.dfstego" \
        --probe both --image "$coco27/images/val2017/000000000001.jpg" --out "$tmp/linear_labels.png"
    expect 1 "stego-cocostuff27 needs --head FILE" -- "$cli" paper stego-cocostuff27 "${paper[@]}" --data "$city"
    expect 2 "trained on dino dim 16" -- "$cli" paper stego-cityscapes27 --model $models/dinov2_s14.pth --heads 2 \
        --head "$tmp/one.dfstego" --data "$city" --out "$tmp/paper_stego2"
fi
# Sempart on the saliency set as ECSSD unpacks (TokenCut's img/ gt/): the figures of sempart predict's masks
mkdir -p "$tmp/sal_ecssd" && ln -sfn ../sal/images "$tmp/sal_ecssd/img" && ln -sfn ../sal/masks "$tmp/sal_ecssd/gt"
expect 0 "sempart-ecssd on 6 images" -- "$cli" paper sempart-ecssd "${sempart_model[@]}" --sempart "$tmp/sp.dfsempart" \
    --data "$tmp/sal_ecssd" --out "$tmp/paper_sp" --json "$tmp/paper_sp.json"
expect 0 "^same$" -- bash -c "[ \"\$('$cli' eval --pred '$tmp/sp_out/masks' --gt '$tmp/sal/masks' --task saliency | tail -1)\" = \
    \"\$('$cli' eval --pred '$tmp/paper_sp' --gt '$tmp/sal_ecssd' --task saliency --set dataset.layout=ecssd | tail -1)\" ] && echo same"
# Sempart's protocols with figures worked out by hand: the trained network with its last layers
# set to constants (weights 0; coarse bias -10, so the empty partition is the foreground by the
# corners rule and the fine mask is kept as it is; fine bias +10: sigmoid 0.99995, 255 as a byte)
# predicts every pixel foreground. Two 32 x 32 images whose masks are a quarter foreground:
# accuracy and IoU 25.0, maxF_beta 1.3 x 0.25 / (0.3 x 0.25 + 1) = 30.2. CorLoc of the whole-image
# box: IoU 0.5 with a box of the top half (not > 0.5), 0.625 with one of the top 20 rows: 50.0.
if have_python_imaging "dinofeat paper sempart-* by hand"; then
    /usr/bin/python3 - "$tmp/sp.dfsempart" "$tmp/sp_const.dfsempart" "$tmp/sp_hand" <<'PY'
import os, sys
import numpy as np
from PIL import Image
sys.path.insert(0, "../bindings/python")
import dinofeat.sempart
trained, constant, root = sys.argv[1:]
t = dinofeat.sempart.Trainer.load(trained)
p = t.parameters()
t.set_parameters({"coarse.weight": np.zeros_like(p["coarse.weight"]), "coarse.bias": [-10.0],
                  "fine.out.weight": np.zeros_like(p["fine.out.weight"]), "fine.out.bias": [10.0]})
t.save(constant)
ecssd, voc = f"{root}/ecssd", f"{root}/VOCdevkit/VOC2007"
for folder in (f"{ecssd}/images", f"{ecssd}/ground_truth_mask", f"{voc}/JPEGImages", f"{voc}/Annotations",
               f"{voc}/ImageSets/Main"):
    os.makedirs(folder, exist_ok=True)
photo = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
for name, rows, cols, ymax in (("a", slice(8, 24), slice(8, 24), 16), ("b", slice(0, 8), slice(0, 32), 20)):
    Image.fromarray(photo).save(f"{ecssd}/images/{name}.jpg")
    mask = np.zeros((32, 32), np.uint8)
    mask[rows, cols] = 255
    Image.fromarray(mask).save(f"{ecssd}/ground_truth_mask/{name}.png")
    Image.fromarray(photo).save(f"{voc}/JPEGImages/{name}.jpg")
    with open(f"{voc}/Annotations/{name}.xml", "w") as f:
        f.write(f"<annotation><object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>32</xmax><ymax>{ymax}</ymax>"
                "</bndbox></object></annotation>")
with open(f"{voc}/ImageSets/Main/trainval.txt", "w") as f:
    f.write("a\nb\n")
PY
    for row in "accuracy +25\.0 +96\.4" "IoU +25\.0 +85\.5" "maxF_beta +30\.2 +94\.7"; do
        expect 0 "^  $row$" -- "$cli" paper sempart-ecssd "${sempart_model[@]}" --sempart "$tmp/sp_const.dfsempart" \
            --data "$tmp/sp_hand/ecssd" --out "$tmp/sp_hand_ecssd"
    done
    expect 0 "^  CorLoc +50\.0 +75\.1$" -- "$cli" paper sempart-voc07 "${sempart_model[@]}" \
        --sempart "$tmp/sp_const.dfsempart" --data "$tmp/sp_hand" --out "$tmp/sp_hand_voc"
fi
expect 1 "sempart-voc07 needs --sempart FILE" -- "$cli" paper sempart-voc07 "${paper[@]}" --data "$tmp/paper_voc"
expect 1 "unknown protocol 'stego-potsdam'" -- "$cli" paper stego-potsdam "${paper[@]}" --data "$tmp/paper_voc"
expect 1 "a protocol comes first" -- "$cli" paper --data "$tmp/paper_voc" "${paper[@]}"
# every protocol the help names is one
for protocol in $("$cli" paper --help | grep -oE '\b(tokencut|sempart|stego|hrdv2|neco|datus)-[a-z0-9-]+[a-z0-9]' | sort -u); do
    expect 1 "needs --|--data DIR is required" -- "$cli" paper "$protocol" "${paper[@]}"
done

# HR-Dv2's foreground on DUTS-TE: a 31 x 17 image and its mask cropped alike to 28 x 14 from (2, 2)
# (torchvision's CenterCrop: round(1.5) = 2). The true mask is segment --crop's own saliency there
# and foreground on the border the crop drops: IoU 100 only when both sides are cropped as one.
hr=(--model ../examples/data/tiny-dinov2-s14-reg4.safetensors)
duts="$tmp/paper_duts"; mkdir -p "$duts/DUTS-TE-Image" "$duts/DUTS-TE-Mask"
if have_python_imaging "dinofeat paper hrdv2-duts"; then
    /usr/bin/python3 -c "
import sys, numpy as np
from PIL import Image
Image.fromarray(np.random.default_rng(3).integers(0, 256, (17, 31, 3), dtype=np.uint8)).save(sys.argv[1])" \
        "$duts/DUTS-TE-Image/a.png"
    expect 0 "wrote" -- "$cli" segment "${hr[@]}" --image "$duts/DUTS-TE-Image/a.png" --crop --saliency "$tmp/hr_sal.png"
    /usr/bin/python3 -c "
import sys, numpy as np
from PIL import Image
mask = np.full((17, 31), 255, np.uint8)
mask[2:16, 2:30] = np.asarray(Image.open(sys.argv[1]))
Image.fromarray(mask).save(sys.argv[2])" "$tmp/hr_sal.png" "$duts/DUTS-TE-Mask/a.png"
    expect 0 "^  IoU +100\.0 +65\.4$" -- "$cli" paper hrdv2-duts "${hr[@]}" --data "$duts" --out "$tmp/paper_hr"
    expect 0 "" -- cmp "$tmp/paper_hr/a.png" "$tmp/hr_sal.png"
    # without the crop to whole patches the mask cannot cover the image: said for that image alone
    expect 2 "^dinofeat paper: a\.png: the segmentation covers 28 x 14 of 31 x 17 pixels: keep dataset\.multiple at the patch size$" \
        -- "$cli" paper hrdv2-duts "${hr[@]}" --data "$duts" --out "$tmp/paper_hr_whole" --set dataset.multiple=0
    /usr/bin/python3 -c "
import sys, numpy as np
from PIL import Image
pixels = np.random.default_rng(1).integers(0, 256, (45, 61, 3), dtype=np.uint8)
pixels[10:30, 5:25] = (200, 40, 40)
pixels[20:40, 35:55] = (30, 30, 220)
Image.fromarray(pixels).save(sys.argv[1])" "$tmp/hr_voc.jpg"
    # HR-Dv2's CorLoc on VOC07 test without the hard objects: 000001 (61 x 45, cropped to 56 x 42
    # from (2, 2): round(2.5) and round(1.5) are 2, where the official code's floor moves the boxes
    # by 1 row) holds an easy box equal to segment --crop's superbox moved by the crop and a
    # difficult one elsewhere; 000002 the same image with a 1-pixel box no prediction can hit;
    # 000003 only a truncated object, so it is no item: CorLoc 1/2. -multi's boxes are segment's
    # (without the area limit: the superbox and three more) moved by the same (2, 2).
    hrvoc="$tmp/paper_hrvoc/VOCdevkit/VOC2007"; mkdir -p "$hrvoc/JPEGImages" "$hrvoc/Annotations" "$hrvoc/ImageSets/Main"
    for name in 000001 000002 000003; do cp "$tmp/hr_voc.jpg" "$hrvoc/JPEGImages/$name.jpg"; done
    printf '000001\n000002\n000003\n' > "$hrvoc/ImageSets/Main/test.txt"
    expect 0 "wrote" -- "$cli" segment "${hr[@]}" --image "$tmp/hr_voc.jpg" --crop --boxes "$tmp/hr_voc.json"
    expect 0 "wrote" -- "$cli" segment "${hr[@]}" --image "$tmp/hr_voc.jpg" --crop --min-area 0 --boxes "$tmp/hr_voc_all.json"
    /usr/bin/python3 - "$tmp/hr_voc.json" "$hrvoc/Annotations" <<'PY'
import json, sys
x0, y0, x1, y1 = json.load(open(sys.argv[1]))["superbox"]["box"]
def obj(box, flag=""):
    return "<object>%s<bndbox><xmin>%d</xmin><ymin>%d</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox></object>" % ((flag,) + box)
easy = (x0 + 2 + 1, y0 + 2 + 1, x1 + 2, y1 + 2)  # VOC's corners: 1-based, inclusive
open(sys.argv[2] + "/000001.xml", "w").write("<annotation>" + obj(easy) + obj((1, 1, 3, 3), "<difficult>1</difficult>") + "</annotation>")
open(sys.argv[2] + "/000002.xml", "w").write("<annotation>" + obj((1, 1, 1, 1)) + "</annotation>")
open(sys.argv[2] + "/000003.xml", "w").write("<annotation>" + obj(easy, "<truncated>1</truncated>") + "</annotation>")
PY
    expect 0 "hrdv2-voc07 on 2 images" -- "$cli" paper hrdv2-voc07 "${hr[@]}" --data "$tmp/paper_hrvoc" --out "$tmp/paper_hrvoc_out"
    expect 0 "^  CorLoc +50\.0 +55\.4$" -- "$cli" paper hrdv2-voc07 "${hr[@]}" --data "$tmp/paper_hrvoc" --out "$tmp/paper_hrvoc_out"
    expect 0 "^  CorLoc +50\.0 +71\.8$" -- "$cli" paper hrdv2-voc07-multi "${hr[@]}" --data "$tmp/paper_hrvoc" \
        --out "$tmp/paper_hrvoc_multi" --set cas.min_area=0
    expect 0 "^moved$" -- /usr/bin/python3 - "$tmp/hr_voc_all.json" "$tmp/paper_hrvoc_multi/000001.json" <<'PY'
import json, sys
segment, paper = (json.load(open(p)) for p in sys.argv[1:])
want = [[v + 2 for v in segment["superbox"]["box"]]] + [[v + 2 for v in b["box"]] for b in segment["boxes"]]
got = [b["box"] for b in paper["boxes"]]
print("moved" if got == want and len(got) > 1 else f"{got} != {want}")
PY
    # a 16-bit image (8-bit values x 257, stored as a PNG the signature reveals) gives the boxes of
    # its 8-bit twin: the crop reads two bytes a sample
    /usr/bin/python3 - "$hrvoc" <<'PY'
import struct, sys, zlib
import numpy as np
from PIL import Image
voc = sys.argv[1]
pixels = np.random.default_rng(4).integers(0, 256, (45, 61, 3), dtype=np.uint8)
pixels[10:30, 5:25] = (200, 40, 40)
Image.fromarray(pixels).save(f"{voc}/JPEGImages/000004.jpg", format="PNG")
wide = pixels.astype(np.uint16) * 257
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = b"".join(b"\0" + wide[y].astype(">u2").tobytes() for y in range(45))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 61, 45, 16, 2, 0, 0, 0)) + \
    chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(f"{voc}/JPEGImages/000005.jpg", "wb").write(png)
for name in ("000004", "000005"):
    open(f"{voc}/Annotations/{name}.xml", "w").write(
        "<annotation><object><bndbox><xmin>6</xmin><ymin>11</ymin><xmax>25</xmax><ymax>30</ymax></bndbox></object></annotation>")
open(f"{voc}/../../wide.txt", "w").write("000004\n000005\n")
PY
    expect 0 "hrdv2-voc07 on 2 images" -- "$cli" paper hrdv2-voc07 "${hr[@]}" --data "$tmp/paper_hrvoc" \
        --out "$tmp/paper_hrvoc_wide" --set dataset.list="$tmp/paper_hrvoc/wide.txt"
    expect 0 "" -- cmp "$tmp/paper_hrvoc_wide/000004.json" "$tmp/paper_hrvoc_wide/000005.json"
fi

# data-parallel: two local ranks split every batch; a failing rank stops the other
expect 0 "step 4/4 \(epoch 2\)" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" sempart train \
    "${sempart[@]}" --images "$tmp/sal/images" --out "$tmp/sp_two.dfsempart" --epochs 2 --batch 4 --branches coarse
expect 0 "size: 800 x 450" -- "$cli" info --image "$tmp/sp_two.dfsempart.png"
# two ranks resuming their checkpoint equal two ranks straight through
expect 0 "step 6/6 \(epoch 3\)" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" sempart train \
    "${sempart[@]}" --images "$tmp/sal/images" --out "$tmp/sp_two.dfsempart" --epochs 3 --batch 4 --branches coarse
expect 0 "step 6/6 \(epoch 3\)" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" sempart train \
    "${sempart[@]}" --images "$tmp/sal/images" --out "$tmp/sp_two_straight.dfsempart" --epochs 3 --batch 4 \
    --branches coarse
expect 0 "" -- cmp "$tmp/sp_two.dfsempart" "$tmp/sp_two_straight.dfsempart"
expect 0 "" -- cmp "$tmp/sp_two.dfsempart.csv" "$tmp/sp_two_straight.dfsempart.csv"
expect 3 "rank 1 exited with status 3; stopping the other ranks" -- "$cli" launch --nproc 2 -- \
    sh -c '[ "$RANK" = 1 ] && exit 3; sleep 30'
# launch serves the rendezvous itself on a port the system chose, held while the ranks run: a
# second launch asked for that port cannot have it
expect 0 "rank 1 of 2 at 127.0.0.1:[0-9]+, agent store True" -- "$cli" launch --nproc 2 -- \
    sh -c 'echo "rank $RANK of $WORLD_SIZE at $MASTER_ADDR:$MASTER_PORT, agent store $TORCHELASTIC_USE_AGENT_STORE"'
expect 2 "cannot serve a rendezvous on port [0-9]+" -- "$cli" launch --nproc 2 -- \
    sh -c 'if [ "$RANK" = 0 ]; then exec "$0" launch --nproc 2 --port "$MASTER_PORT" -- true; fi; sleep 1' "$cli"
expect 1 "MASTER_PORT is 'x', not a port in 1..65535" -- env MASTER_PORT=x "$cli" launch --nproc 2 -- true
expect 1 "--nproc N is required" -- "$cli" launch -- true
expect 1 "the command to run goes after --" -- "$cli" launch --nproc 2
expect 1 "--nproc takes a whole number 2..256" -- "$cli" launch --nproc 1 -- true
expect 127 "cannot run no-such-program" -- "$cli" launch --nproc 2 -- no-such-program

# NeCo: a short run on a tiny DINOv2 with registers; its backbone is a --model for every verb
neco=(--model $models/dinov2_s14_reg4.pth --heads 2)
neco_crops=(--side 56 --local-side 28 --epochs 3 --batch 4 --log-every 2)
expect 1 "--queue 5 is too short: it must hold at least --batch x 49 = 196" -- "$cli" neco train "${neco[@]}" \
    --images "$tmp/sal/images" --out "$tmp/q.safetensors" "${neco_crops[@]}" --queue 5
mkdir -p "$tmp/sal_broken" && cp "$tmp"/sal/images/* "$tmp/sal_broken/" && head -c 100 "$tmp/sal/images/000.png" > "$tmp/sal_broken/001.png"
expect 0 "cannot be decoded and is left out:" -- "$cli" neco train "${neco[@]}" --images "$tmp/sal_broken" \
    --out "$tmp/broken_neco.safetensors" --side 56 --local-side 28 --epochs 1 --batch 4
expect 0 "cannot be decoded and is left out" -- "$cli" sempart train --model $models/dino_s8.pth --heads 2 --side 32 \
    --images "$tmp/sal_broken" --out "$tmp/broken.dfsempart" --epochs 1 --batch 4
expect 1 "--epochs takes a whole number 1\.\." -- "$cli" sempart train --model $models/dino_s8.pth --heads 2 \
    --images "$tmp/sal/images" --out "$tmp/x.dfsempart" --epochs 0
expect 0 "step 6/6 \(epoch 3\): loss" -- "$cli" neco train "${neco[@]}" --images "$tmp/sal/images" \
    --out "$tmp/neco.safetensors" "${neco_crops[@]}"
expect 0 "registers: 4" -- "$cli" info --model "$tmp/neco.safetensors" --heads 2
expect 0 "size: 800 x 450" -- "$cli" info --image "$tmp/neco.safetensors.png"
expect 0 "^readable$" -- plot_is_readable "$tmp/neco.safetensors.png" 1
expect 0 "^step,epoch,loss" -- head -1 "$tmp/neco.safetensors.csv"
cp "$tmp/neco.safetensors" "$tmp/neco_first.safetensors"
expect 0 "resuming from" -- "$cli" neco train "${neco[@]}" --images "$tmp/sal/images" \
    --out "$tmp/neco.safetensors" "${neco_crops[@]}"
expect 0 "" -- cmp "$tmp/neco.safetensors" "$tmp/neco_first.safetensors"
expect 2 "the schedules span 6 steps, not the 8" -- "$cli" neco train "${neco[@]}" --images "$tmp/sal/images" \
    --out "$tmp/neco.safetensors" --side 56 --local-side 28 --epochs 4 --batch 4
expect 2 "trained from dinov2 dim 16" -- "$cli" neco train --model $models/dinov2_s14.pth --heads 2 \
    --images "$tmp/sal/images" --out "$tmp/neco.safetensors" "${neco_crops[@]}"
expect 0 "wrote" -- "$cli" features --model "$tmp/neco.safetensors" --heads 2 --image "$tmp/sal/images/000.png" \
    --out "$tmp/neco_features.npy"
expect 2 "multiples of the patch" -- "$cli" neco train "${neco[@]}" --images "$tmp/sal/images" \
    --out "$tmp/neco_bad.safetensors" --side 50
expect 0 "step 6/6 \(epoch 3\): loss" -- "$cli" launch --nproc 2 --timeout 60 -- "$cli" neco train \
    "${neco[@]}" --images "$tmp/sal/images" --out "$tmp/neco_two.safetensors" "${neco_crops[@]}"
expect 0 "registers: 4" -- "$cli" info --model "$tmp/neco_two.safetensors" --heads 2
expect 1 "--images and --out are required" -- "$cli" neco train "${neco[@]}"
expect 1 "unknown sub-command 'fly'" -- "$cli" neco fly
expect 1 "--lr-head x: parameter .neco.lr_head. takes a number" -- "$cli" neco train "${neco[@]}" --lr-head x

echo "cli: $passed passed, $failures failed"
[ "$failures" = 0 ]
