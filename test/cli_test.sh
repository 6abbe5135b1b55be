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

expect 0 "^Usage: dinofeat VERB" -- "$cli" --help
expect 1 "^Usage: dinofeat VERB" -- "$cli"
expect 0 "^dinofeat [0-9]+\.[0-9]+\.[0-9]+" -- "$cli" --version
expect 1 "unknown verb 'frobnicate'" -- "$cli" frobnicate
for verb in $("$cli" --help | awk '/^Verbs:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{on=0}'); do
    expect 0 "^Usage: dinofeat $verb" -- "$cli" "$verb" --help
done
expect 0 "libtorch" -- "$cli" info
expect 0 "size: 23 x 17" -- "$cli" info --image fixtures/images/rgb8.png
expect 0 "size: 24 x 40" -- "$cli" info --image fixtures/images/exif6.jpg
expect 0 "bit depth: 16" -- "$cli" info --image fixtures/images/grey16.png
expect 2 "truncated\.jpg: truncated JPEG" -- "$cli" info --image fixtures/images/truncated.jpg
expect 2 "missing\.png: cannot open" -- "$cli" info --image fixtures/images/missing.png
expect 2 "huge\.jpg: a JPEG of 60000 x 60000 pixels exceeds" -- "$cli" info --image fixtures/images/huge.jpg
expect 2 "exceeds the limit of 100 pixels" -- "$cli" info --max-pixels 100 --image fixtures/images/rgb8.png
expect 1 "--max-pixels takes a number" -- "$cli" info --max-pixels lots
expect 1 "must be in" -- "$cli" info --max-pixels 0
expect 1 "unknown option '--bogus'" -- "$cli" info --bogus
expect 1 "needs a value" -- "$cli" info --image
expect 1 "unexpected argument" -- "$cli" info stray
expect 2 "images, [1-9][0-9]* could not be decoded" -- "$cli" info --images fixtures/images

echo "cli: $passed passed, $failures failed"
[ "$failures" = 0 ]
