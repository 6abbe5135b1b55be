#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU and a CUDA PyTorch 2.x in python3:
# builds against that PyTorch's libtorch, runs make check-cuda (the Check suites, failing where
# CUDA is missing), and keeps every log in OUT.
#
#   bash test/gpu_check.sh OUT [DEBS]
#
# DEBS: a folder of Debian 12 packages for a machine without the build's libraries (igraph, check,
# libpng, libjpeg and what they need: `apt-get download` them where apt works); they are unpacked
# into OUT/../deps (never into /) and used from there.
set -uo pipefail
out=${1:?usage: gpu_check.sh OUT [DEBS]}
debs=${2:-}
mkdir -p "$out"
cd "$(dirname "$0")/.."
log() { echo "== $*" | tee -a "$out/summary.txt"; }

{ nvidia-smi; grep PRETTY /etc/os-release; ldd --version | head -1; gcc --version | head -1; } > "$out/machine.txt" 2>&1
libtorch=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
log "libtorch $libtorch ($(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)'))"

args=(LIBTORCH="$libtorch")
if [ -n "$debs" ]; then
    prefix=$(cd "$out/.." && pwd)/deps
    mkdir -p "$prefix"
    for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix"; done
    # absolute links (libz.so -> /lib/...) point into the prefix instead
    find "$prefix" -type l | while read -r link; do
        target=$(readlink "$link")
        [ "${target#/}" != "$target" ] && [ -e "$prefix$target" ] && ln -sf "$prefix$target" "$link"
    done
    lib=$prefix/usr/lib/x86_64-linux-gnu
    export LD_LIBRARY_PATH="$lib:$lib/blas:$lib/lapack:$prefix/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # jconfig.h (libjpeg) lives in the multiarch folder: without it the machine's own would be used
    args+=(CPPFLAGS="-isystem $prefix/usr/include -isystem $prefix/usr/include/x86_64-linux-gnu" GRAPH_CFLAGS="-isystem $prefix/usr/include/igraph"
           LDFLAGS="-L$lib -Wl,-rpath-link,$lib:$lib/blas:$lib/lapack"
           CHECK_LIBS="-L$lib -lcheck_pic -lsubunit -lrt -lm -pthread")
fi

start=$(date +%s)
make clean > /dev/null # objects of another build's flags would be kept: make does not track them
make -j"$(nproc)" "${args[@]}" lib cli build/test/check_dinofeat \
    > "$out/build.log" 2>&1
status=$?
log "build: exit $status in $(( $(date +%s) - start )) s (build.log)"
[ $status -eq 0 ] || { tail -30 "$out/build.log"; exit $status; }

start=$(date +%s)
make "${args[@]}" check-cuda > "$out/check-cuda.log" 2>&1
status=$?
log "check-cuda: exit $status in $(( $(date +%s) - start )) s (check-cuda.log): $(grep -E '^[0-9]+%' "$out/check-cuda.log" | tr '\n' ' ')"
grep -E ":[EF]:" "$out/check-cuda.log" | head -20 | tee -a "$out/summary.txt"
exit $status
