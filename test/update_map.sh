#!/usr/bin/env bash
# Rewrites lib/dinofeat.map from the DF_API declarations. Only while 0.1 is unreleased: once a node
# is released it never changes, and new functions go in a new node by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo '/* One version node per minor release; a node, once released, never changes. */'
    echo 'DINOFEAT_0.1 {'
    echo '  global:'
    cat include/dinofeat/*.h | tr '\n' ' ' | grep -o 'DF_API[^;{]*(' | grep -o 'df_[a-z0-9_]*($' | tr -d '(' |
        sort -u | sed 's/^/    /; s/$/;/'
    echo '  local:'
    echo '    *;'
    echo '};'
} > lib/dinofeat.map.new
mv lib/dinofeat.map.new lib/dinofeat.map
