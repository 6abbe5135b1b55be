#!/usr/bin/env bash
# The exported symbols, the DF_API declarations in the public headers and the version script must
# name the same functions, and nothing but df_* may be exported (no std::, c10::, torch::, at::);
# the functions of the headers' DINOFEAT_EXPERIMENTAL sections carry the version
# DINOFEAT_EXPERIMENTAL, every other one a release's.
set -euo pipefail
library=${1:-lib/libdinofeat.so}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$library" | awk '{print $3}' | grep -v '^DINOFEAT_' | sed 's/@.*//' | sort -u > "$tmp/exported"
cat include/dinofeat/*.h | tr '\n' ' ' | grep -o 'DF_API[^;{]*(' | grep -o 'df_[a-z0-9_]*($' | tr -d '(' | sort -u > "$tmp/declared"
sed -n '/global:/,/local:/p' lib/dinofeat.map | grep -o 'df_[a-z0-9_]*' | sort -u > "$tmp/scripted"

status=0
if grep -v '^df_' "$tmp/exported"; then
    echo "check_symbols: the library exports symbols other than df_* (listed above)"; status=1
fi
if ! diff -u --label exported "$tmp/exported" --label declared "$tmp/declared"; then
    echo "check_symbols: exported symbols differ from the DF_API declarations"; status=1
fi
if ! diff -u --label declared "$tmp/declared" --label version-script "$tmp/scripted"; then
    echo "check_symbols: the version script lib/dinofeat.map differs from the DF_API declarations"; status=1
fi
nm -D --defined-only "$library" | awk '{print $3}' | grep '@@DINOFEAT_EXPERIMENTAL$' | sed 's/@.*//' | sort -u \
    > "$tmp/exported_experimental"
test/api_tiers.sh experimental > "$tmp/declared_experimental"
if ! diff -u --label 'exported as DINOFEAT_EXPERIMENTAL' "$tmp/exported_experimental" \
        --label 'declared under DINOFEAT_EXPERIMENTAL' "$tmp/declared_experimental"; then
    echo "check_symbols: the experimental tier's symbols differ from the headers' DINOFEAT_EXPERIMENTAL sections"; status=1
fi
[ "$status" = 0 ] && echo "check_symbols: $(wc -l < "$tmp/exported") functions ($(wc -l < "$tmp/declared_experimental") experimental), exported = declared = version script"
exit $status
