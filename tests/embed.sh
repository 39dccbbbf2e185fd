#!/bin/sh
# The embedding example, examples/embed, from make check: train the demo
# MLP briefly, emit it with its weights, build examples/embed/main.c
# against the emitted files with gcc and clang under the strict flags,
# classify examples/embed/digit.pgm, and require the class netc predict
# gives for the same pixels and logits within 1e-5 of netc's (relative to
# the largest; the emitted code sums the products in another order).
#
# usage: sh tests/embed.sh [NETC]
set -u
. tests/harness.sh

"$NETC" train specs/mnist_mlp_default.net --epochs 2 --save "$T/w.safetensors" >"$T/train.out" 2>&1 \
    && ok || fail "netc train: $(cat "$T/train.out")"
"$NETC" emit specs/mnist_mlp_default.net --weights "$T/w.safetensors" -o "$T" >"$T/emit.out" 2>&1 \
    && ok || fail "netc emit: $(cat "$T/emit.out")"

# netc explain --mcu gives the header's figures.
"$NETC" explain specs/mnist_mlp_default.net --mcu >"$T/mcu.txt" 2>&1 && ok || fail "explain --mcu: $(cat "$T/mcu.txt")"
hdr() { sed -n "s/^#define mnist_mlp_default_$1 \([0-9]*\)$/\1/p" "$T/mnist_mlp_default.h"; }
fig() { awk -v w="$1" 'index($0, w) { print $NF }' "$T/mcu.txt"; }
[ "$(fig WEIGHTS_BYTES)" = "$(hdr WEIGHTS_BYTES)" ] && [ "$(fig STACK_BYTES)" = "$(hdr STACK_BYTES)" ] &&
    [ "$(fig 'workspace, one sample')" = "$(($(hdr SAMPLE_WORKSPACE_FLOATS) * 4))" ] &&
    [ "$(fig 'workspace, 8 samples')" = "$(($(hdr WORKSPACE_FLOATS) * 4))" ] && [ -n "$(hdr WEIGHTS_BYTES)" ] && ok ||
    fail "explain --mcu differs from the header: $(cat "$T/mcu.txt")"

# The same pixels as CSV for netc predict: the 784 bytes after the header.
tail -c 784 examples/embed/digit.pgm | od -An -v -tu1 |
    awk '{ for (i = 1; i <= NF; i++) printf "%s%.9g", (n++ ? "," : ""), $i / 255 } END { print "" }' >"$T/digit.csv"
"$NETC" predict specs/mnist_mlp_default.net --weights "$T/w.safetensors" --input "$T/digit.csv" >"$T/netc.csv" \
    2>"$T/predict.err" && ok || fail "netc predict: $(cat "$T/predict.err")"
want=$(awk -F, '{ b = 1; for (i = 2; i <= NF; i++) if ($i > $b) b = i; print b - 1 }' "$T/netc.csv")

for cc in gcc clang; do
    if ! command -v $cc >/dev/null; then
        fail "$cc is not installed (scripts/install-deps.sh installs it)"
        continue
    fi
    $cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -I"$T" examples/embed/main.c "$T/mnist_mlp_default.c" -lm \
        -o "$T/classify_$cc" 2>"$T/cc.err" && ok || { fail "$cc: $(cat "$T/cc.err")"; continue; }
    "$T/classify_$cc" examples/embed/digit.pgm >"$T/$cc.out" && ok || fail "classify ($cc) failed"
    got=$(sed -n 's/^digit: //p' "$T/$cc.out")
    [ "$got" = "$want" ] && ok || fail "classify ($cc) says $got, netc predict $want"
    sed -n 's/^logits: //p' "$T/$cc.out" | tr ' ' ',' | paste -d'\n' "$T/netc.csv" - |
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { a[i] = $i; m = (a[i] < 0 ? -a[i] : a[i]) > m ? (a[i] < 0 ? -a[i] : a[i]) : m } n = NF }
                 NR == 2 { bad = NF != n; for (i = 1; i <= NF; i++) { d = $i - a[i]; if (d < 0) d = -d; if (d > 1e-5 * m) bad = 1 } exit bad }' \
        && ok || fail "classify ($cc) logits differ from netc predict: $(cat "$T/$cc.out") vs $(cat "$T/netc.csv")"
done
echo "embed.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
