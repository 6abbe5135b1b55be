#!/usr/bin/env bash
# The functions the public headers declare, by tier: `api_tiers.sh stable` lists those outside any
# `#ifdef DINOFEAT_EXPERIMENTAL` section, `api_tiers.sh experimental` those inside (sorted, one a
# line). update_map.sh and check_symbols.sh read them.
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:?usage: api_tiers.sh stable|experimental}
for header in include/dinofeat/*.h; do
    awk -v want="$tier" '
        /^#ifdef DINOFEAT_EXPERIMENTAL/ { inside = 1; next }
        /^#endif \/\* DINOFEAT_EXPERIMENTAL \*\// { inside = 0; next }
        (want == "experimental") == (inside == 1) { print }
    ' "$header"
done | tr '\n' ' ' | grep -o 'DF_API[^;{]*(' | grep -o 'df_[a-z0-9_]*($' | tr -d '(' | sort -u
