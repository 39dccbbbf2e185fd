#!/bin/sh
# End-to-end tests of the netc command line: exit codes, diagnostics,
# training, checkpoints, eval and predict, determinism.
# usage: sh tests/cli.sh ./netc   (from the project root)
set -u
. tests/harness.sh

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

# --- the error limit: 20 shown, then a count; --max-errors N ---------------
{ echo 'model many {'; i=0; while [ $i -lt 30 ]; do echo "    let x$i = $i / 0"; i=$((i + 1)); done
  echo '    input 4'; echo '    layers Linear(4, 2)'; echo '    loss MSE'; echo '    optimizer SGD'; echo '}'; } >"$T/many.net"
expect 1 "$NETC" check "$T/many.net"
[ "$(grep -c ': error: ' "$T/err")" -eq 20 ] && ok || fail "check showed $(grep -c ': error: ' "$T/err") errors, not 20"
contains "$T/err" "many.net: note: 10 more errors not shown"
expect 1 "$NETC" check "$T/many.net" --max-errors 5
[ "$(grep -c ': error: ' "$T/err")" -eq 5 ] && ok || fail "--max-errors 5 showed $(grep -c ': error: ' "$T/err")"
contains "$T/err" "many.net: note: 25 more errors not shown"
expect 1 "$NETC" check "$T/many.net" --max-errors 0
[ "$(grep -c ': error: ' "$T/err")" -eq 30 ] && ok || fail "--max-errors 0 showed $(grep -c ': error: ' "$T/err")"
expect 2 "$NETC" check "$T/many.net" --max-errors -1
contains "$T/err" "--max-errors needs an integer >= 0 (0: no limit), got '-1'"

# --- usage errors exit 2, --help exits 0 ----------------------------------
expect 2 "$NETC"
expect 2 "$NETC" frobnicate
expect 2 "$NETC" train
expect 2 "$NETC" train specs/mnist_softmax.net --epochs 0
expect 2 "$NETC" train specs/mnist_softmax.net --bogus
expect 2 "$NETC" train specs/mnist_softmax.net --lr
expect 2 "$NETC" predict specs/mnist_softmax.net --weights x.safetensors
expect 2 "$NETC" eval specs/mnist_softmax.net
for c in check explain train compare eval predict; do
    expect 0 "$NETC" "$c" --help && contains "$T/out" "usage: netc $c"
done
expect 0 "$NETC" --help
expect 0 "$NETC" --version

# --- explain ---------------------------------------------------------------
expect 0 "$NETC" explain specs/mnist_mlp.net && contains "$T/out" "parameters: 269322"
contains "$T/out" "matrix products: OpenBLAS, core "
expect 0 env NETC_BLAS_CORE=Haswell "$NETC" explain specs/mnist_mlp.net
contains "$T/out" "matrix products: OpenBLAS, core Haswell (NETC_BLAS_CORE=Haswell, if this OpenBLAS has that core: it is checked when loaded)"
# a core OpenBLAS knows: once loaded, train states the request as it held
expect 0 env NETC_BLAS_CORE=Haswell "$NETC" train specs/mnist_softmax.net --epochs 1
contains "$T/err" "OpenBLAS core Haswell (NETC_BLAS_CORE=Haswell), "
# a core OpenBLAS does not know: train says the request did not hold
expect 0 env NETC_BLAS_CORE=NoSuchCore "$NETC" train specs/mnist_softmax.net --epochs 1
contains "$T/err" "NETC_BLAS_CORE=NoSuchCore is not a core this OpenBLAS knows; it detected its own"

# --- train / eval / predict on a small CSV problem ---------------------------
# Two classes separated by the sign of x0 + x1 - x2.
sign_csv "$T/train.csv"
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
# the thread count changes no bit (the MNIST MLP's layers are big enough to
# be shared among threads; one epoch of the bundled data), and train says
# which OpenBLAS core and how many threads ran
for n in 1 2 3; do
    expect 0 "$NETC" train specs/mnist_mlp_default.net --epochs 1 --threads $n --save "$T/thr$n.safetensors"
    grep -v '^Saved' "$T/out" > "$T/thr$n.out"
    contains "$T/err" "train: OpenBLAS core "
done
contains "$T/err" ", 3 threads"
for n in 2 3; do
    cmp -s "$T/thr1.out" "$T/thr$n.out" && ok || fail "--threads $n prints other epoch lines than --threads 1"
    cmp -s "$T/thr1.safetensors" "$T/thr$n.safetensors" && ok || fail "--threads $n saves other weights than --threads 1"
done
# more threads than the pool has are refused, not silently cut
expect 2 "$NETC" train specs/mnist_mlp_default.net --epochs 1 --threads 65
contains "$T/err" "--threads needs an integer from 1 to 64, got '65'"
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

# --- train --stats: definitions once, then one line per layer after each epoch --
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --epochs 2 --stats
contains "$T/out" "grad_norm  L2 norm of the layer's weight gradient, mean over the epoch's batches"
contains "$T/out" "mean|act|  mean |output| over every training sample and unit of the epoch"
contains "$T/out" "dead       fraction of units whose output was exactly 0 for every training sample"
[ "$(grep -c '^  layer  *grad_norm  *mean|act|  *dead$' "$T/out")" -eq 2 ] && ok || fail "--stats: expected a column header per epoch"
# tiny.net is Linear -> Tanh -> Linear: the fused Linear has a gradient and no output of
# its own, Tanh an output and no dead units (not ReLU family), the last Linear both
grep -Eq '^  0  Linear +[0-9]\.[0-9]{3}e[-+][0-9]{2} +- +-$' "$T/out" && ok || fail "--stats: layer 0 line"
grep -Eq '^  1  Tanh +- +[0-9]\.[0-9]{3}e[-+][0-9]{2} +-$' "$T/out" && ok || fail "--stats: layer 1 line"
grep -Eq '^  2  Linear +[0-9]\.[0-9]{3}e[-+][0-9]{2} +[0-9]\.[0-9]{3}e[-+][0-9]{2} +-$' "$T/out" && ok || fail "--stats: layer 2 line"
# the epoch lines are those of a run without --stats
grep '^Epoch' "$T/out" > "$T/s1"; head -2 "$T/e1" > "$T/s2"
cmp -s "$T/s1" "$T/s2" && ok || fail "--stats changes training"
sed 's/Tanh/ReLU/' "$T/tiny.net" > "$T/tinyrelu.net"
expect 0 "$NETC" train "$T/tinyrelu.net" --data "$T/train.csv" --epochs 1 --stats
grep -Eq '^  1  ReLU +- +[0-9]\.[0-9]{3}e[-+][0-9]{2} +[01]\.[0-9]{4}$' "$T/out" && ok || fail "--stats: ReLU line has no dead fraction"

# --- compare: same initial weights, one row and one curve per optimizer ------
# rows of the table: they hold the final cost with 9 decimals
rows() { grep -Ec '^[A-Za-z].*  [0-9]+\.[0-9]{9}  ' "$1"; }
expect 0 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --test-data "$T/train.csv" --epochs 5 \
    --optimizers 'SGD(lr=0.1, momentum=0.9), Adam,SGD(lr=0.05)' --plot "$T/c.svg"
contains "$T/out" "every run starts from the same weights"
contains "$T/out" "target cost "
grep -Eq '^optimizer +final cost +test accuracy +epochs to [0-9.e+-]+ +time \(s\)$' "$T/out" && ok || fail "compare: table header"
[ "$(rows "$T/out")" -eq 3 ] && ok || fail "compare: expected 3 rows, got $(rows "$T/out")"
# the spec's own optimizer, from the same weights, ends where `train` ends
cp "$T/out" "$T/cmp"
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --epochs 5
final=$(sed -n 's/^Epoch: 0005 cost = //p' "$T/out")
grep -q "^SGD(lr=0.1, momentum=0.9)  *$final  " "$T/cmp" && ok || fail "compare: SGD row does not end at train's cost $final"
# the plot: well-formed SVG with one polyline per optimizer and a legend entry each
if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$T/c.svg" 2>"$T/err" && ok || fail "compare: SVG is not well-formed: $(head -1 "$T/err")"
else
    head -1 "$T/c.svg" | grep -q '^<?xml' && tail -1 "$T/c.svg" | grep -q '^</svg>$' && ok || fail "compare: SVG structure"
fi
[ "$(grep -c '<polyline' "$T/c.svg")" -eq 3 ] && ok || fail "compare: expected 3 polylines"
grep -q '>SGD(lr=0.1, momentum=0.9)</text>' "$T/c.svg" && ok || fail "compare: legend lacks the SGD entry"
grep -q '>epoch</text>' "$T/c.svg" && grep -q '>mean training cost</text>' "$T/c.svg" && ok || fail "compare: axis labels"
# --target: never reached shows '-', reached at once shows 1
expect 0 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --epochs 2 --optimizers 'Adam,SGD' --target 1e-9
[ "$(grep -Ec '  -  +[0-9.]+$' "$T/out")" -eq 2 ] && ok || fail "compare: unreachable target should show '-'"
expect 0 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --epochs 2 --optimizers 'Adam,SGD' --target 100
[ "$(grep -Ec '  1  +[0-9.]+$' "$T/out")" -eq 2 ] && ok || fail "compare: target 100 is reached in epoch 1"
# all: every optimizer of the catalog, trained or skipped with a note
expect 0 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --epochs 1 --optimizers all --plot "$T/all.svg"
n=$(grep -c '^OPTIM(' compiler/catalog.def); got=$(( $(rows "$T/out") + $(grep -c '^note: skipped ' "$T/out") ))
[ "$got" -eq "$n" ] && ok || fail "compare all: $got rows and notes for $n optimizers"
[ "$(grep -c '<polyline' "$T/all.svg")" -eq "$(rows "$T/out")" ] && ok || fail "compare all: one curve per row"
# usage errors exit 2; an optimizer the compiler rejects is reported as usual
expect 2 "$NETC" compare "$T/tiny.net" --data "$T/train.csv"
expect 2 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --optimizers 'SGD(lr=0.1'
contains "$T/err" "unbalanced parentheses"
expect 2 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --optimizers 'SGD,,Adam'
expect 2 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --optimizers SGD --target 0
expect 1 "$NETC" compare "$T/tiny.net" --data "$T/train.csv" --optimizers 'SGD,Adamm(lr=0.1)' --plot "$T/never.svg"
contains "$T/err" "error: unknown optimizer 'Adamm'"
[ -e "$T/never.svg" ] && fail "a failed compare wrote a plot" || ok

# --- the target each loss takes: class indices, CSV values, one-hot IDX labels ---
# NLL reads class labels, as CrossEntropy does.
sed -e 's/Linear(8, 2)/Linear(8, 2) -> LogSoftmax(dim=1)/' -e 's/loss CrossEntropy/loss NLL/' "$T/tiny.net" > "$T/nll.net"
expect 0 "$NETC" train "$T/nll.net" --data "$T/train.csv" --test-data "$T/train.csv" --epochs 5
contains "$T/out" "Epoch: 0005 cost = "
contains "$T/out" "Test accuracy: "
# BCEWithLogits reads one target column per output from a CSV.
awk -F, 'NR == 1 { print "t0,t1,a,b,c"; next } { print ($1 == 0) "," ($1 == 1) "," $2 "," $3 "," $4 }' \
    "$T/train.csv" > "$T/values.csv"
sed -e 's/loss CrossEntropy/loss BCEWithLogits(pos_weight=2.0)/' "$T/tiny.net" > "$T/bcel.net"
expect 0 "$NETC" train "$T/bcel.net" --data "$T/values.csv" --test-data "$T/values.csv" --epochs 5
contains "$T/out" "Test loss: "
first=$(sed -n 's/^Epoch: 0001 cost = //p' "$T/out"); last=$(sed -n 's/^Epoch: 0005 cost = //p' "$T/out")
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f) }' && ok || fail "BCEWithLogits cost did not decrease: $first -> $last"
# BCE on an IDX directory gets one-hot targets, and accuracy from the labels.
cat > "$T/bce_idx.net" <<'SPEC'
model bce_idx {
    input 784
    layers Linear(784, 10) -> Sigmoid
    loss BCE
    optimizer Adam(lr=0.01)
    train epochs=1 batch=100 seed=1
    data "data/mnist-10k"
}
SPEC
expect 0 "$NETC" train "$T/bce_idx.net"
contains "$T/out" "Test accuracy: 0.8"
expect 0 "$NETC" check "$T/bce_idx.net" && empty "$T/err"
# BCE on raw scores warns, and still trains
sed -e 's/ -> Sigmoid//' "$T/bce_idx.net" > "$T/bce_warn.net"
expect 0 "$NETC" check "$T/bce_warn.net"
contains "$T/err" "warning: BCE expects probabilities in [0, 1], which Linear does not produce; use BCEWithLogits"

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
contains "$T/err" "the checkpoint is of another model: its input is (N, 3), this model's (N, 784)"
# --force cannot make other shapes fit
expect 1 "$NETC" eval specs/mnist_softmax.net --weights "$T/tiny.safetensors" --force
contains "$T/err" "does not fit"
printf 'garbage' > "$T/garbage.safetensors"
expect 1 "$NETC" eval "$T/tiny.net" --weights "$T/garbage.safetensors" --data "$T/train.csv"
expect 1 "$NETC" train "$T/bad.net" --data "$T/train.csv" --save "$T/never.safetensors"
[ -e "$T/never.safetensors" ] && fail "a bad spec wrote a checkpoint" || ok

# --- ASGD: --save --averaged writes the averaged parameters -----------------
expect 2 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --epochs 1 --save "$T/never.safetensors" --averaged
contains "$T/err" "not ASGD"
[ -e "$T/never.safetensors" ] && fail "--averaged without ASGD wrote a checkpoint" || ok
sed 's/optimizer SGD(lr=0.1, momentum=0.9)/optimizer ASGD(lr=0.1, t0=20)/' "$T/tiny.net" > "$T/asgd.net"
expect 2 "$NETC" train "$T/asgd.net" --data "$T/train.csv" --averaged
contains "$T/err" "--averaged needs --save FILE"
expect 0 "$NETC" train "$T/asgd.net" --data "$T/train.csv" --epochs 2 --save "$T/asgd_avg.safetensors" --averaged
expect 0 "$NETC" train "$T/asgd.net" --data "$T/train.csv" --epochs 2 --save "$T/asgd_cur.safetensors"
cmp -s "$T/asgd_avg.safetensors" "$T/asgd_cur.safetensors" && fail "averaged and current parameters are equal" || ok
expect 0 "$NETC" eval "$T/asgd.net" --weights "$T/asgd_avg.safetensors" --data "$T/train.csv"
# before step t0 + 1 the average is the current parameters, bit for bit
sed 's/t0=20/t0=100000/' "$T/asgd.net" > "$T/asgd_late.net"
expect 0 "$NETC" train "$T/asgd_late.net" --data "$T/train.csv" --epochs 1 --save "$T/late_avg.safetensors" --averaged
expect 0 "$NETC" train "$T/asgd_late.net" --data "$T/train.csv" --epochs 1 --save "$T/late_cur.safetensors"
cmp -s "$T/late_avg.safetensors" "$T/late_cur.safetensors" && ok || fail "ASGD average differs before t0"

# --- the bundled data set: one epoch of the real MLP, deterministic ----------
expect 0 "$NETC" train specs/mnist_mlp_default.net --epochs 1 --save "$T/mlp.safetensors"
contains "$T/out" "Test accuracy: 0.8"
cp "$T/out" "$T/m1"
expect 0 "$NETC" train specs/mnist_mlp_default.net --epochs 1
cmp -s "$T/m1" "$T/out" 2>/dev/null || { grep -v Saved "$T/m1" > "$T/m1b"; cmp -s "$T/m1b" "$T/out"; } && ok || fail "MNIST run not deterministic"

# --- predict from an IDX directory: eval's test split, eval's classes -------
MLP=specs/mnist_mlp_default.net
expect 0 "$NETC" eval $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k
correct=$(sed -n 's/^accuracy = [0-9.]* (\([0-9]*\)\/2000)$/\1/p' "$T/out")
expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --output "$T/pidx.csv"
empty "$T/out"
grep -Eq '^predict: 2000 samples in [0-9]+\.[0-9]{3} s \([0-9]+ samples/s\)$' "$T/err" && ok ||
    fail "predict --data: no timing line on stderr: $(head -1 "$T/err")"
[ "$(wc -l < "$T/pidx.csv")" -eq 2000 ] && ok || fail "predict --data wrote $(wc -l < "$T/pidx.csv") rows for 2000 images"
[ "$(awk -F, 'NF != 10' "$T/pidx.csv" | wc -l)" -eq 0 ] && ok || fail "predict --data rows should have 10 columns"
# the arg-max class of each row (the first on ties, as eval's) against the labels
argmax() { awk -F, '{ b = 1; for (j = 2; j <= NF; j++) if ($j > $b) b = j; print b - 1 }' "$1"; }
argmax "$T/pidx.csv" > "$T/pidx.cls"
gzip -dc data/mnist-10k/t10k-labels-idx1-ubyte.gz | od -An -v -tu1 -j8 | tr -s ' ' '\n' | sed '/^$/d' > "$T/labels"
hits=$(paste -d' ' "$T/pidx.cls" "$T/labels" | awk '$1 == $2' | wc -l)
[ -n "$correct" ] && [ "$hits" -eq "$correct" ] && ok ||
    fail "predict --data classes match $hits labels, eval counts '$correct' correct"
# bigger passes: the same classes
expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --batch 2000 --output "$T/p2000.csv"
argmax "$T/p2000.csv" | cmp -s - "$T/pidx.cls" && ok || fail "predict --batch 2000 gives other classes than batch 256"
# passes are cut to 8 MiB of activations, 1,600 rows of this MLP
# (rt_inference_rows): --batch 10000 runs the passes of --batch 1600
expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --batch 1600 --output "$T/p1600.csv"
expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --batch 10000 --output "$T/p10000.csv"
cmp -s "$T/p1600.csv" "$T/p10000.csv" && ok || fail "predict --batch 10000 differs from --batch 1600"
contains "$T/err" "predict: 2000 samples in "
expect 0 "$NETC" eval $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --batch 1600
cp "$T/out" "$T/e1600"
expect 0 "$NETC" eval $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --batch 10000
cmp -s "$T/e1600" "$T/out" && ok || fail "eval --batch 10000 differs from --batch 1600"
# threads share eval's and predict's passes, a pass each: the same rows, in
# order, and the same loss at every thread count (8 passes of 256 here)
for n in 1 2 3; do
    expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --threads $n \
        --output "$T/pthr$n.csv"
    cmp -s "$T/pthr$n.csv" "$T/pidx.csv" && ok || fail "predict --threads $n differs from the default threads"
    expect 0 "$NETC" eval $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --threads $n
    cp "$T/out" "$T/ethr$n"
done
cmp -s "$T/ethr1" "$T/ethr2" && cmp -s "$T/ethr1" "$T/ethr3" && ok || fail "eval differs between thread counts"
# the first images as CSV rows of byte / 255 (17 digits: the double rounds to
# the float of byte / 255.0f) give the outputs of the IDX bytes, bit for bit
gzip -dc data/mnist-10k/t10k-images-idx3-ubyte.gz | od -An -v -tu1 -j16 -N $((5 * 784)) | tr -s ' ' '\n' |
    sed '/^$/d' | awk '{ printf "%s%.17g", (NR - 1) % 784 ? "," : "", $1 / 255; if (NR % 784 == 0) print "" }' \
    > "$T/img5.csv"
expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --input "$T/img5.csv" --batch 5
contains "$T/err" "predict: 5 samples in "
cp "$T/out" "$T/pcsv5"
expect 0 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --batch 5
head -5 "$T/out" | cmp -s - "$T/pcsv5" && ok || fail "predict --input CSV and --data IDX give different outputs"
# --data is read as eval reads it: a CSV with its target column first
expect 0 "$NETC" predict "$T/tiny.net" --weights "$T/tiny.safetensors" --data "$T/train.csv"
[ "$(wc -l < "$T/out")" -eq 400 ] && ok || fail "predict --data CSV wrote $(wc -l < "$T/out") rows for 400"
# exactly one of --input and --data
expect 2 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data data/mnist-10k --input "$T/img5.csv"
contains "$T/err" "takes --input FILE.csv or --data DIR|FILE.csv, not both"
expect 2 "$NETC" predict $MLP --weights "$T/mlp.safetensors"
contains "$T/err" "needs --input FILE.csv (inputs only) or --data DIR|FILE.csv (test data)"
expect 1 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data "$T/nowhere"
contains "$T/err" "nowhere"
expect 1 "$NETC" predict $MLP --weights "$T/mlp.safetensors" --data "$T/img5.csv"
contains "$T/err" "img5.csv"

# --- Embedding inputs from CSV, SparseAdam, LBFGS ----------------------------
expect 0 "$NETC" train tests/specs/good/embedding_sparse_adam.net --save "$T/emb.safetensors"
contains "$T/out" "Epoch: 0003 cost = "
cp "$T/out" "$T/e1"
expect 0 "$NETC" train tests/specs/good/embedding_sparse_adam.net
grep -v Saved "$T/e1" | cmp -s - "$T/out" && ok || fail "Embedding/SparseAdam run not deterministic"
cut -d, -f7-9 tests/data/embedding.csv > "$T/emb_in.csv"
expect 0 "$NETC" predict tests/specs/good/embedding_sparse_adam.net --weights "$T/emb.safetensors" \
    --input "$T/emb_in.csv"
[ "$(wc -l < "$T/out")" -eq 24 ] && ok || fail "predict wrote $(wc -l < "$T/out") rows for 24 inputs"
expect 0 "$NETC" train tests/specs/good/lbfgs_wolfe.net
contains "$T/err" "train: LBFGS evaluated the loss "
printf 't0,t1,t2,t3,t4,t5,i0,i1,i2\n0,0,0,0,0,0,1,2.5,3\n' > "$T/badidx.csv"
expect 1 "$NETC" train tests/specs/good/lbfgs_wolfe.net --data "$T/badidx.csv"
contains "$T/err" "sample 1, input 2: 2.5 is not an index of the Embedding at 4:12 (an integer from 0 to 9)"
printf 't0,t1,t2,t3,t4,t5,i0,i1,i2\n0,0,0,0,0,0,1,10,3\n' > "$T/badidx.csv"
expect 1 "$NETC" eval tests/specs/good/embedding_sparse_adam.net --weights "$T/emb.safetensors" --data "$T/badidx.csv"
contains "$T/err" "10 is not an index of the Embedding"

# --- resuming LBFGS continues its history: 1 + 2 epochs equal 3 in one run ---
expect 0 "$NETC" train tests/specs/good/lbfgs_wolfe.net --epochs 3 --save "$T/lb3.safetensors"
grep '^Epoch' "$T/out" >"$T/lb3.txt"
expect 0 "$NETC" train tests/specs/good/lbfgs_wolfe.net --epochs 1 --save "$T/lb1.safetensors"
grep '^Epoch' "$T/out" >"$T/lb12.txt"
expect 0 "$NETC" train tests/specs/good/lbfgs_wolfe.net --weights "$T/lb1.safetensors" --epochs 2 --save "$T/lb12.safetensors"
grep '^Epoch' "$T/out" >>"$T/lb12.txt"
cmp -s "$T/lb3.txt" "$T/lb12.txt" && ok || fail "LBFGS resumed epoch lines differ from one run"
cmp -s "$T/lb3.safetensors" "$T/lb12.safetensors" && ok || fail "LBFGS resumed checkpoint differs from one run"

# --- machine-readable output: train --log, train --plot, explain --json ------
expect 0 "$NETC" train specs/mnist_softmax.net --epochs 3 --save "$T/nolog.safetensors"
grep '^Epoch\|^Test' "$T/out" >"$T/nolog.txt"
expect 0 "$NETC" train specs/mnist_softmax.net --epochs 3 --save "$T/log.safetensors" --log "$T/run.jsonl" \
    --plot "$T/run.svg"
grep '^Epoch\|^Test' "$T/out" >"$T/log.txt"
# Logging evaluates after every epoch; the training is the same bits.
cmp -s "$T/nolog.txt" "$T/log.txt" && ok || fail "train --log changed the epoch lines"
cmp -s "$T/nolog.safetensors" "$T/log.safetensors" && ok || fail "train --log changed the checkpoint"
[ "$(wc -l <"$T/run.jsonl")" -eq 3 ] && ok || fail "train --log wrote $(wc -l <"$T/run.jsonl") lines for 3 epochs"
num='-\{0,1\}[0-9][0-9.e+-]*'
bad=$(grep -cv "^{\"epoch\": [1-3], \"cost\": $num, \"lr\": 0.001, \"test_loss\": $num, \"test_accuracy\": $num, \"seconds\": $num, \"samples_per_second\": $num}\$" "$T/run.jsonl")
[ "$bad" -eq 0 ] && ok || { fail "train --log lines not as documented"; head -3 "$T/run.jsonl"; }
# The log's costs are the epoch lines', its last accuracy the test line's.
sed -n 's/^Epoch: [0-9]* cost = \([0-9.]*\).*/\1/p' "$T/log.txt" >"$T/cost_lines"
sed -n 's/.*"cost": \([^,]*\),.*/\1/p' "$T/run.jsonl" >"$T/cost_json"
paste "$T/cost_lines" "$T/cost_json" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-8 * $1) bad = 1 } END { exit bad }' &&
    ok || fail "train --log costs differ from the epoch lines: $(paste "$T/cost_lines" "$T/cost_json" | head -3)"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\).*/\1/p' "$T/log.txt")
tail -1 "$T/run.jsonl" | grep -q "\"test_accuracy\": $acc[0-9]*," && ok || fail "last logged accuracy is not $acc"
grep -q '<polyline' "$T/run.svg" && grep -q '>training cost<' "$T/run.svg" && grep -q '>test loss<' "$T/run.svg" &&
    ok || fail "train --plot drew no training and test curves"
# Without test data the log has no test fields; a bad path fails before training.
expect 0 "$NETC" train "$T/tiny.net" --data "$T/train.csv" --epochs 2 --log "$T/xor.jsonl"
grep -q test_ "$T/xor.jsonl" && fail "a log without test data has test fields" || ok
expect 1 "$NETC" train specs/mnist_softmax.net --epochs 1 --log "$T/no/such/dir/run.jsonl"
contains "$T/err" "netc train: cannot write '$T/no/such/dir/run.jsonl'"
grep -q '^Epoch' "$T/out" && fail "train trained although its log cannot be written" || ok
expect 1 "$NETC" train specs/mnist_softmax.net --epochs 1 --plot "$T/no/such/dir/run.svg"
contains "$T/err" "cannot write '$T/no/such/dir/run.svg'"

expect 0 "$NETC" explain specs/lenet5.net --json
cp "$T/out" "$T/plan.json"
contains "$T/plan.json" '{"model": "lenet5", "batch": 64,'
contains "$T/plan.json" '"opcode": "conv", "outputs": {"y": "h1", "col": "col0"}, "inputs": {"x": "x", "W": "0.weight", "b": "0.bias"}, "line": 9, "col": 12'
contains "$T/plan.json" '{"id": 12, "name": "x", "arena": "batch", "offset": 0, "floats": 50176, "shape": [64, 1, 28, 28]}'
contains "$T/plan.json" '"parameters": 61706, "parameter_tensors": 10'
expect 0 "$NETC" explain specs/lenet5.net
nops=$(sed -n '/^addr /,/^$/p' "$T/out" | grep -c '^ *[0-9]')
nbufs=$(sed -n '/^buf /,/^$/p' "$T/out" | grep -c '^ *[0-9]')
[ "$(grep -c '"addr": ' "$T/plan.json")" -eq "$nops" ] && ok || fail "explain --json has not every op"
[ "$(grep -c '{"id": ' "$T/plan.json")" -eq "$nbufs" ] && ok || fail "explain --json has not every buffer"
total=$(sed -n 's/^arena total *\([0-9]*\) floats.*/\1/p' "$T/out")
contains "$T/plan.json" "\"total\": {\"floats\": $total, \"bytes\": $((total * 4))}"
if command -v python3 >/dev/null; then
    python3 -c 'import json, sys; json.load(open(sys.argv[1])); [json.loads(l) for l in open(sys.argv[2])]' \
        "$T/plan.json" "$T/run.jsonl" && ok || fail "explain --json or train --log is not valid JSON"
fi

# --- netc build: a program with the spec built in, netc's bits -----------
expect 0 "$NETC" build specs/mnist_softmax.net -o "$T/softmax"
contains "$T/out" "Built $T/softmax"
expect 0 "$T/softmax" train --epochs 2 --save "$T/built.safetensors"
grep -v '^Saved' "$T/out" >"$T/built.txt"
expect 0 "$NETC" train specs/mnist_softmax.net --epochs 2 --save "$T/interp.safetensors"
grep -v '^Saved' "$T/out" >"$T/interp.txt"
cmp -s "$T/built.txt" "$T/interp.txt" && ok || fail "built program's epoch lines differ from netc train's"
cmp -s "$T/built.safetensors" "$T/interp.safetensors" && ok || fail "built program's checkpoint differs from netc's"
expect 0 "$T/softmax" eval --weights "$T/built.safetensors"
contains "$T/out" "accuracy = "
expect 0 "$T/softmax" predict --weights "$T/built.safetensors" --data data/mnist-10k --batch 1000
contains "$T/err" "predict: 2000 samples in "
cp "$T/out" "$T/built.pred"
expect 0 "$NETC" predict specs/mnist_softmax.net --weights "$T/built.safetensors" --data data/mnist-10k --batch 1000
cmp -s "$T/built.pred" "$T/out" && ok || fail "built program's predict --data differs from netc predict's"
expect 0 "$T/softmax" explain
contains "$T/out" "plan for model mnist_softmax"
expect 2 "$T/softmax" check
contains "$T/err" "this program runs train, eval, predict and explain"
expect 2 "$NETC" build specs/mnist_softmax.net
contains "$T/err" "needs -o PROGRAM"

echo "cli.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
