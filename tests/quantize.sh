#!/bin/sh
# int8 post-training quantization end to end, from make check: train
# briefly, `netc quantize`, then eval and predict with the int8 checkpoint
# in place of the float one.
#  - specs/mnist_mlp.net (trained as the spec says, 15 epochs on
#    data/mnist-10k: seconds): int8 test accuracy within 0.5 points of
#    float's, int8 weights, biases and scales at most 26% of the float
#    weights' bytes;
#  - tests/specs/q8/cnn_bn.net (a BatchNorm folded, ReLU6 clamp, depthwise
#    conv, max and average pooling, dropout) and mlp_sigmoid.net (Sigmoid
#    and Tanh as tables, LogSoftmax in float after them): within a point;
#  - the int8 outputs are the same bytes at any thread count and batch;
#  - refusals: a layer with no int8 form (named, at its place in the
#    spec), a checkpoint of another spec, a float command given the int8
#    checkpoint, missing options.
# usage: sh tests/quantize.sh [NETC]
set -u
. "$(dirname "$0")/harness.sh"
D=data/mnist-10k

# accuracy FILE: the accuracy eval printed, in points (0.9705 -> 97.05).
accuracy() { sed -n 's/^accuracy = \([0-9.]*\).*/\1/p' "$1" | awk '{ printf "%.2f", $1 * 100 }'; }

# quantized SPEC NAME MAXDIFF [TRAIN ARGS]: train, quantize, eval both;
# fails when the int8 accuracy is more than MAXDIFF points from float's.
quantized() {
    spec=$1 name=$2 maxdiff=$3
    shift 3
    "$NETC" train "$spec" --data $D --save "$T/$name.st" "$@" >"$T/$name.train" 2>&1 || { fail "$name: train"; return 1; }
    "$NETC" quantize "$spec" --weights "$T/$name.st" --calibrate $D -o "$T/$name-q8.st" >"$T/$name.q" 2>&1 \
        || { fail "$name: quantize: $(cat "$T/$name.q")"; return 1; }
    "$NETC" eval "$spec" --weights "$T/$name.st" --data $D >"$T/$name.f32" 2>&1 || { fail "$name: eval float"; return 1; }
    "$NETC" eval "$spec" --weights "$T/$name-q8.st" --data $D >"$T/$name.i8" 2>&1 \
        || { fail "$name: eval int8: $(cat "$T/$name.i8")"; return 1; }
    f=$(accuracy "$T/$name.f32") q=$(accuracy "$T/$name.i8")
    echo "quantize.sh: $name accuracy float $f, int8 $q; $(sed 's/^quantize: //; s/ -> .*//' "$T/$name.q")"
    awk -v f="$f" -v q="$q" -v m="$maxdiff" 'BEGIN { d = f - q; if (d < 0) d = -d; exit !(d <= m) }' && ok \
        || fail "$name: int8 accuracy $q is more than $maxdiff points from float's $f"
}

quantized specs/mnist_mlp.net mlp 0.5
pct=$(sed -n 's/.*bytes (\([0-9.]*\)% of float.*/\1/p' "$T/mlp.q")
awk -v p="$pct" 'BEGIN { exit !(p > 0 && p <= 26) }' && ok || fail "mlp: int8 bytes are $pct% of float's, over 26%"
# The file itself: int8 weights and int32 biases, marked int8.
size=$(wc -c <"$T/mlp-q8.st")
[ "$size" -lt 290000 ] && ok || fail "mlp: int8 checkpoint is $size bytes"
grep -q '"0.weight":{"dtype":"I8","shape":\[256,784\]' "$T/mlp-q8.st" && grep -q '"0.bias":{"dtype":"I32"' "$T/mlp-q8.st" \
    && grep -q '"netc.quantized":"int8"' "$T/mlp-q8.st" && ok || fail "mlp: int8 checkpoint's header"

# Same bytes whatever the threads and the batch.
"$NETC" predict specs/mnist_mlp.net --weights "$T/mlp-q8.st" --data $D --threads 1 --batch 7 >"$T/p1.csv" 2>/dev/null
"$NETC" predict specs/mnist_mlp.net --weights "$T/mlp-q8.st" --data $D --threads 2 >"$T/p2.csv" 2>/dev/null
[ -s "$T/p1.csv" ] && cmp -s "$T/p1.csv" "$T/p2.csv" && ok || fail "int8 predict differs with threads or batch"
# predict's outputs are the dequantized logits: each a multiple of one scale.
[ "$(head -1 "$T/p1.csv" | tr ',' '\n' | wc -l)" -eq 10 ] && ok || fail "int8 predict rows"

quantized tests/specs/q8/cnn_bn.net cnn 1.0
quantized tests/specs/q8/mlp_sigmoid.net sigmoid 1.0

# --- refusals ------------------------------------------------------------
# expect STATUS CMD...: exit status STATUS, stderr in $T/err.
expect() {
    want=$1
    shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] && ok || fail "'$*' exited $got, expected $want: $(head -3 "$T/err")"
}
has() { grep -qF -- "$2" "$1" && ok || fail "$1 lacks '$2': $(head -3 "$1")"; }

"$NETC" train tests/specs/q8/glu.net --data $D --epochs 1 --batch 100 --save "$T/glu.st" >/dev/null 2>&1
expect 1 "$NETC" quantize tests/specs/q8/glu.net --weights "$T/glu.st" --calibrate $D -o "$T/x.st"
has "$T/err" "glu.net:4:31: error: GLU (layer 1) cannot be quantized to int8"
has "$T/err" "^~~"
[ ! -e "$T/x.st" ] && ok || fail "a refused quantize wrote a file"
"$NETC" train tests/specs/q8/bn_after_linear.net --data $D --epochs 1 --batch 100 --save "$T/bnl.st" >/dev/null 2>&1
expect 1 "$NETC" quantize tests/specs/q8/bn_after_linear.net --weights "$T/bnl.st" --calibrate $D -o "$T/x.st"
has "$T/err" "BatchNorm1d (layer 1) cannot be quantized to int8: a BatchNorm is folded into the convolution"
# mnist_mlp_default has mnist_mlp's shapes but another spec (init).
expect 1 "$NETC" eval specs/mnist_mlp_default.net --weights "$T/mlp-q8.st" --data $D
has "$T/err" "quantized from another spec than 'mnist_mlp_default'"
expect 1 "$NETC" train specs/mnist_mlp.net --data $D --epochs 1 --weights "$T/mlp-q8.st"
has "$T/err" "an int8 checkpoint (netc quantize), which only eval and predict read"
expect 1 "$NETC" emit specs/mnist_mlp.net --weights "$T/mlp-q8.st" -o "$T"
has "$T/err" "an int8 checkpoint (netc quantize), which only eval and predict read"
expect 2 "$NETC" quantize specs/mnist_mlp.net --weights "$T/mlp.st" -o "$T/x.st"
has "$T/err" "needs --calibrate DIR|FILE.csv"
expect 2 "$NETC" quantize specs/mnist_mlp.net --weights "$T/mlp.st" --calibrate $D
expect 2 "$NETC" quantize specs/mnist_mlp.net --weights "$T/mlp.st" --calibrate $D --samples 0 -o "$T/x.st"
# A float checkpoint of another model is refused before anything is written.
expect 1 "$NETC" quantize specs/mnist_mlp.net --weights "$T/cnn.st" --calibrate $D -o "$T/x.st"
[ ! -e "$T/x.st" ] && ok || fail "a failed quantize wrote a file"

echo "quantize.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
