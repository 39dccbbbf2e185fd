#!/bin/sh
# End-to-end tests of the netc command line: exit codes, diagnostics,
# training, checkpoints, eval and predict, determinism.
# usage: sh tests/cli.sh ./netc   (from the project root)
set -u
NETC=${1:-./netc}
case $NETC in /*) ;; *) NETC=$(pwd)/$NETC ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
pass=0

ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS CMD... : run CMD, require exit status STATUS; output in $T/out, $T/err
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "'$*' exited $got, expected $want"; sed 's/^/    /' "$T/err" | head -5
        return 1
    fi
    ok
}
contains() { # FILE TEXT
    if grep -qF -- "$2" "$1"; then ok; else fail "$1 lacks '$2'"; sed 's/^/    /' "$1" | head -5; fi
}
empty() { if [ -s "$1" ]; then fail "$1 is not empty"; sed 's/^/    /' "$1" | head -5; else ok; fi; }

# --- check -------------------------------------------------------------
for s in specs/*.net; do
    expect 0 "$NETC" check "$s" && empty "$T/out" && empty "$T/err"
done
expect 0 "$NETC" check specs/*.net

cat > "$T/bad.net" <<'SPEC'
model bad {
    input 784
    layers Linear(784, 256) -> Relu -> Linear(128, 10)
    loss CrossEntropy
    optimizer Adam(lr=0)
}
SPEC
expect 1 "$NETC" check "$T/bad.net"
contains "$T/err" "bad.net:3:32: error: unknown layer 'Relu'; did you mean 'ReLU'?"
contains "$T/err" "bad.net:5:23: error: Adam argument 'lr' must be > 0, got 0"
expect 1 "$NETC" check "$T/missing.net"
contains "$T/err" "cannot read"

# --- usage errors exit 2, --help exits 0 ----------------------------------
expect 2 "$NETC"
expect 2 "$NETC" frobnicate
expect 2 "$NETC" train
expect 2 "$NETC" train specs/mnist_softmax.net --epochs 0
expect 2 "$NETC" train specs/mnist_softmax.net --bogus
expect 2 "$NETC" train specs/mnist_softmax.net --lr
expect 2 "$NETC" predict specs/mnist_softmax.net --weights x.safetensors
expect 2 "$NETC" eval specs/mnist_softmax.net
for c in check explain train eval predict; do
    expect 0 "$NETC" "$c" --help && contains "$T/out" "usage: netc $c"
done
expect 0 "$NETC" --help
expect 0 "$NETC" --version

# --- explain ---------------------------------------------------------------
expect 0 "$NETC" explain specs/mnist_mlp.net && contains "$T/out" "parameters: 269322"

# --- train / eval / predict on a small CSV problem ---------------------------
# Two classes separated by the sign of x0 + x1 - x2.
awk 'BEGIN { srand(7); print "label,a,b,c";
             for (i = 0; i < 400; i++) { a = rand()*2-1; b = rand()*2-1; c = rand()*2-1;
                 printf "%d,%.4f,%.4f,%.4f\n", (a + b - c > 0), a, b, c } }' > "$T/train.csv"
awk -F, 'NR > 1 && NR <= 51 { print $2 "," $3 "," $4 }' "$T/train.csv" > "$T/inputs.csv"
cat > "$T/tiny.net" <<'SPEC'
model tiny {
    input 3
    layers Linear(3, 8) -> Tanh -> Linear(8, 2)
    loss CrossEntropy
    optimizer SGD(lr=0.1, momentum=0.9)
    train epochs=20 batch=16 shuffle=true seed=3
}
SPEC
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --test-data "$T/train.csv" --save "$T/tiny.safetensors"
contains "$T/out" "Epoch: 0001 cost = "
contains "$T/out" "Epoch: 0020 cost = "
contains "$T/out" "Test accuracy: "
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\).*/\1/p' "$T/out")
awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' && ok || fail "tiny model accuracy $acc < 0.9"
first=$(sed -n 's/^Epoch: 0001 cost = //p' "$T/out"); last=$(sed -n 's/^Epoch: 0020 cost = //p' "$T/out")
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f) }' && ok || fail "cost did not decrease: $first -> $last"
cp "$T/out" "$T/run1"
# same seed, same bits: identical epoch lines and identical checkpoint bytes
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --save "$T/tiny2.safetensors"
grep '^Epoch' "$T/run1" > "$T/e1"; grep '^Epoch' "$T/out" > "$T/e2"
cmp -s "$T/e1" "$T/e2" && ok || fail "training is not deterministic"
cmp -s "$T/tiny.safetensors" "$T/tiny2.safetensors" && ok || fail "checkpoints differ between identical runs"
# a different seed gives a different run
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --seed 4
grep '^Epoch' "$T/out" > "$T/e3"
cmp -s "$T/e1" "$T/e3" && fail "--seed has no effect" || ok

expect 0 "$NETC" eval "$T/tiny.net" --weights "$T/tiny.safetensors" --data "$T/train.csv"
contains "$T/out" "accuracy = $acc"
expect 0 "$NETC" predict "$T/tiny.net" --weights "$T/tiny.safetensors" --input "$T/inputs.csv" --output "$T/pred.csv"
[ "$(wc -l < "$T/pred.csv")" -eq 50 ] && ok || fail "predict wrote $(wc -l < "$T/pred.csv") rows, expected 50"
[ "$(head -1 "$T/pred.csv" | awk -F, '{print NF}')" -eq 2 ] && ok || fail "predict rows should have 2 columns"
# resuming from a checkpoint starts where it stopped: the epochs count on, lower cost
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --weights "$T/tiny.safetensors" --epochs 1
grep -q "note:" "$T/err" && fail "resuming a checkpoint with state gave a note" || ok
resumed=$(sed -n 's/^Epoch: 0021 cost = //p' "$T/out")
[ -n "$resumed" ] && ok || fail "resumed run does not number its epoch 0021"
awk -v f="$first" -v r="$resumed" 'BEGIN { exit !(r < f) }' && ok || fail "resumed cost $resumed not below $first"

# --- schedules and resuming: 6 epochs in one go = 2 + 4 from a checkpoint ----
cat > "$T/sched.net" <<'SPEC'
model sched {
    input 3
    layers Linear(3, 8) -> ReLU -> Dropout(p=0.1) -> Linear(8, 2)
    loss CrossEntropy
    optimizer Adam(lr=0.01)
    schedule StepLR(step_size=2, gamma=0.5)
    clip grad_norm(max_norm=0.5)
    train epochs=6 batch=16 shuffle=true seed=3
}
SPEC
expect 0 "$NETC" explain "$T/sched.net"
contains "$T/out" "schedule: StepLR(step_size=2, gamma=0.5)"
contains "$T/out" "clip_grad_norm"
expect 0 "$NETC" train "$T/sched.net" --data "$T/train.csv" --save "$T/s6.safetensors"
contains "$T/out" "Epoch: 0001 cost = "
contains "$T/out" " lr = 0.01"
contains "$T/out" "Epoch: 0006 cost = "
contains "$T/out" " lr = 0.0025"
grep '^Epoch' "$T/out" > "$T/s6"
expect 0 "$NETC" train "$T/sched.net" --data "$T/train.csv" --epochs 2 --save "$T/s2.safetensors"
grep '^Epoch' "$T/out" > "$T/s2"
expect 0 "$NETC" train "$T/sched.net" --data "$T/train.csv" --epochs 4 --seed 99 --weights "$T/s2.safetensors" \
    --save "$T/s24.safetensors"
grep '^Epoch' "$T/out" >> "$T/s2"
cmp -s "$T/s6" "$T/s2" && ok || fail "2 + 4 resumed epochs differ from 6 in one run"
cmp -s "$T/s6.safetensors" "$T/s24.safetensors" && ok || fail "resumed checkpoint differs from the one-run checkpoint"
# state for another optimizer: weights only, with a note, and the epochs count from 1
sed 's/optimizer SGD(lr=0.1, momentum=0.9)/optimizer Adam(lr=0.01)/' "$T/tiny.net" > "$T/tiny_adam.net"
expect 0 "$NETC" train "$T/tiny_adam.net" --data "$T/train.csv" --epochs 1 --weights "$T/tiny.safetensors"
contains "$T/err" "note: "
contains "$T/err" "only the weights are loaded"
contains "$T/out" "Epoch: 0001 cost = "
expect 0 "$NETC" eval "$T/sched.net" --weights "$T/s6.safetensors" --data "$T/train.csv"

# --- errors in data and checkpoints are reported, nothing is written ---------
expect 1 "$NETC" train "$T/tiny.net" --data "$T/nowhere.csv" --save "$T/never.safetensors"
[ -e "$T/never.safetensors" ] && fail "a failed run wrote a checkpoint" || ok
printf 'label,a,b\n1,0.5,0.5\n' > "$T/narrow.csv"
expect 1 "$NETC" train "$T/tiny.net" --data "$T/narrow.csv"
contains "$T/err" "narrow.csv"
expect 1 "$NETC" eval specs/mnist_softmax.net --weights "$T/tiny.safetensors"
contains "$T/err" "does not fit"
printf 'garbage' > "$T/garbage.safetensors"
expect 1 "$NETC" eval "$T/tiny.net" --weights "$T/garbage.safetensors" --data "$T/train.csv"
expect 1 "$NETC" train "$T/bad.net" --data "$T/train.csv" --save "$T/never.safetensors"
[ -e "$T/never.safetensors" ] && fail "a bad spec wrote a checkpoint" || ok

# --- the bundled data set: one epoch of the real MLP, deterministic ----------
expect 0 "$NETC" train specs/mnist_mlp_default.net --epochs 1 --save "$T/mlp.safetensors"
contains "$T/out" "Test accuracy: 0.8"
cp "$T/out" "$T/m1"
expect 0 "$NETC" train specs/mnist_mlp_default.net --epochs 1
cmp -s "$T/m1" "$T/out" 2>/dev/null || { grep -v Saved "$T/m1" > "$T/m1b"; cmp -s "$T/m1b" "$T/out"; } && ok || fail "MNIST run not deterministic"

echo "cli.sh: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
