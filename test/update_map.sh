#!/usr/bin/env bash
# Rewrites lib/dinofeat.map from the DF_API declarations: the stable ones in DINOFEAT_0.1, those of
# the headers' DINOFEAT_EXPERIMENTAL sections in DINOFEAT_EXPERIMENTAL. Only while 0.1 is
# unreleased: once a node is released it never changes, and new functions go in a new node by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
{
    echo '/* One version node per minor release; a node, once released, never changes. The'
    echo ' * DINOFEAT_EXPERIMENTAL node holds the headers'"'"' DINOFEAT_EXPERIMENTAL sections: no promise. */'
    echo 'DINOFEAT_0.1 {'
    echo '  global:'
    test/api_tiers.sh stable | sed 's/^/    /; s/$/;/'
    echo '  local:'
    echo '    *;'
    echo '};'
    echo 'DINOFEAT_EXPERIMENTAL {'
    echo '  global:'
    test/api_tiers.sh experimental | sed 's/^/    /; s/$/;/'
    echo '};'
} > lib/dinofeat.map.new
mv lib/dinofeat.map.new lib/dinofeat.map
