#!/usr/bin/env bash
# Touching one module's header must rebuild that module and its users only: each case names a
# header and the objects `make -n` may list for it (the library and the tool are relinked too).
# Run from the repository root on a built tree (make check builds it first).
set -u
make_cmd=${MAKE:-make}
failures=0

expect_rebuild() {
    local header=$1; shift
    local expected actual
    expected=$(printf '%s\n' "$@" build/bin/dinofeat "lib/libdinofeat.so.*" | sort)
    actual=$($make_cmd --no-print-directory -n -W "$header" all 2>&1 | grep -oE -- '-o [^ ]+' | cut -c4- |
             sed 's|^lib/libdinofeat\.so\..*|lib/libdinofeat.so.*|' | sort -u)
    if [ "$actual" != "$expected" ]; then
        echo "FAIL: touching $header rebuilds"
        diff <(echo "$expected") <(echo "$actual") | sed 's/^/    /'
        failures=$((failures + 1))
    else
        echo "ok: $header -> $(($(wc -l <<<"$actual") - 2)) objects"
    fi
}

stego_lib="build/lib/stego/file.o build/lib/stego/loss.o build/lib/stego/segment.o build/lib/stego/train.o build/lib/stego/trainer.o"
# shellcheck disable=SC2086
expect_rebuild include/dinofeat/stego.h $stego_lib build/cli/verb_paper.o build/cli/verb_stego.o
# shellcheck disable=SC2086
expect_rebuild shim/stego_shim.h $stego_lib build/shim/stego_loss.o build/shim/stego_trainer.o
expect_rebuild include/dinofeat/crf.h build/lib/crf/crf.o build/lib/segment/cas.o build/lib/stego/segment.o build/lib/weak/weak.o \
    build/cli/verb_paper.o build/cli/verb_stego.o

[ "$failures" -eq 0 ] || { echo "$failures header(s) rebuild more or less than their users"; exit 1; }
