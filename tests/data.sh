#!/bin/sh
# End-to-end tests of how netc brings data to training: validation sets
# (held out or given), early stopping, and their errors.
#
# usage: sh tests/data.sh [NETC]   (from the project root)
set -u
. tests/harness.sh

# Two classes by the sign of x0 + x1 - x2, with label noise so that the
# validation loss turns: 300 samples to train on, 100 to validate.
awk 'BEGIN { srand(11); print "label,a,b,c";
             for (i = 0; i < 400; i++) { a = rand()*2-1; b = rand()*2-1; c = rand()*2-1;
                 y = (a + b - c > 0); if (rand() < 0.2) y = 1 - y;
                 printf "%d,%.4f,%.4f,%.4f\n", y, a, b, c } }' >"$T/all.csv"
head -301 "$T/all.csv" >"$T/train.csv"
{ head -1 "$T/all.csv"; tail -100 "$T/all.csv"; } >"$T/val.csv"
spec() { # NAME DATA-ARGS TRAIN-ARGS
    cat >"$T/$1.net" <<SPEC
model $1 {
    input 3
    layers Linear(3, 32) -> Tanh -> Linear(32, 2)
    loss CrossEntropy
    optimizer SGD(lr=0.5, momentum=0.9)
    train epochs=30 batch=16 seed=3 $3
    data "$T/$2"
}
SPEC
}

# A validation set changes nothing in training: the same costs with a
# held-out fraction (shuffle=false: the last 100 samples) as with those
# 100 given as their own file, and as without validation at all.
spec plain train.csv ""
spec frac "all.csv\" validation=0.25 \"" ""
sed -i 's/validation=0.25 ""/validation=0.25/' "$T/frac.net"
spec path "train.csv\" validation=\"$T/val.csv" ""
expect 0 "$NETC" train "$T/plain.net" && sed 's/ val_loss.*//' "$T/out" | grep '^Epoch' >"$T/plain.e"
expect 0 "$NETC" train "$T/frac.net" && grep '^Epoch' "$T/out" >"$T/frac.full"
contains "$T/out" "Epoch: 0001 cost = "
contains "$T/out" " val_loss = "
contains "$T/out" " val_accuracy = "
contains "$T/err" "train: 300 samples x 30 epochs"
sed 's/ val_loss.*//' "$T/frac.full" >"$T/frac.e"
cmp -s "$T/plain.e" "$T/frac.e" && ok || fail "a validation split changed the training costs"
expect 0 "$NETC" train "$T/path.net" && grep '^Epoch' "$T/out" >"$T/path.full"
cmp -s "$T/frac.full" "$T/path.full" && ok || fail "validation=0.25 and the same samples as validation=PATH differ"

# With shuffle=true the held-out samples are a seeded draw: another seed
# holds out others (the validation loss of the first epoch differs).
spec sh1 "all.csv\" validation=0.25 \"" "shuffle=true"
sed -i 's/validation=0.25 ""/validation=0.25/' "$T/sh1.net"
expect 0 "$NETC" train "$T/sh1.net" --epochs 1 && cp "$T/out" "$T/sh1.a"
expect 0 "$NETC" train "$T/sh1.net" --epochs 1 && cmp -s "$T/out" "$T/sh1.a" && ok || fail "a seeded split is not reproducible"
expect 0 "$NETC" train "$T/sh1.net" --epochs 1 --seed 4
v1=$(sed -n 's/.*val_loss = \([0-9.]*\).*/\1/p' "$T/sh1.a"); v2=$(sed -n 's/.*val_loss = \([0-9.]*\).*/\1/p' "$T/out")
[ "$v1" != "$v2" ] && ok || fail "--seed 4 held out the same validation samples ($v1)"

# Early stopping: stops, says why and which epoch was best, and saves that
# epoch's weights, so evaluating the saved net on the validation set gives
# the best epoch's validation loss, to the bit (the same batch size).
spec stop "train.csv\" validation=\"$T/val.csv" "early_stop=EarlyStopping(patience=3)"
expect 0 "$NETC" train "$T/stop.net" --save "$T/stop.safetensors"
contains "$T/out" "Early stopping after epoch "
contains "$T/out" "val_loss has not improved on epoch "
contains "$T/out" "for 3 epochs"
best=$(sed -n 's/^Best epoch: \([0-9]*\) val_loss = \([0-9.]*\) (its weights restored)$/\1 \2/p' "$T/out")
[ -n "$best" ] && ok || fail "no 'Best epoch: N val_loss = V (its weights restored)' line"
bestloss=${best#* }
stopped=$(sed -n 's/^Early stopping after epoch \([0-9]*\):.*/\1/p' "$T/out")
[ "$(grep -c '^Epoch' "$T/out")" -eq "$(expr "$stopped" + 0)" ] && ok || fail "epoch lines go on after the stop at $stopped"
line=$(grep "^Epoch: ${best% *} " "$T/out")
case $line in *"val_loss = $bestloss"*) ok ;; *) fail "best epoch line '$line' lacks val_loss = $bestloss" ;; esac
expect 0 "$NETC" eval "$T/stop.net" --weights "$T/stop.safetensors" --data "$T/val.csv" --batch 16
contains "$T/out" "loss = $bestloss"
# ReduceLROnPlateau watches the validation loss: with patience 0 it cuts
# the lr after the first epoch whose val_loss does not improve.
spec plat "train.csv\" validation=\"$T/val.csv" ""
echo 'schedule ReduceLROnPlateau(patience=0)' >"$T/sched"
sed -i "/optimizer/r $T/sched" "$T/plat.net"
expect 0 "$NETC" train "$T/plat.net" --epochs 12
# Each lr cut follows an epoch whose val_loss did not beat the best before.
awk '/^Epoch/ { for (i = 1; i <= NF; i++) { if ($i == "val_loss") v = $(i + 2); if ($i == "lr") l = $(i + 2) }
                if (n && l < pl && !(pv >= best)) bad = 1
                if (n && pv < best) best = pv; if (!n) best = 1e30
                n++; pv = v; pl = l }
     END { exit bad }' "$T/out" && ok || fail "ReduceLROnPlateau cut the lr after an improving val_loss"
grep -q 'lr = 0.05$' "$T/out" && ok || fail "ReduceLROnPlateau never cut the lr on val_loss"

# Errors, each once, exact.
for f in "1e-17 no validation sample" "0.999 no sample to train on"; do
    spec tiny "all.csv\" validation=${f%% *} \"" ""
    sed -i "s/validation=${f%% *} \"\"/validation=${f%% *}/" "$T/tiny.net"
    expect 1 "$NETC" train "$T/tiny.net"
    contains "$T/err" "netc train: $T/all.csv: validation=${f%% *} of 400 training samples leaves ${f#* }"
    [ "$(wc -l <"$T/err")" -eq 1 ] && ok || fail "validation=${f%% *}: more than one line of error"
done
spec missing "train.csv\" validation=\"$T/nothere.csv" ""
expect 1 "$NETC" train "$T/missing.net"
contains "$T/err" "$T/nothere.csv: cannot open data"
spec acc "train.csv\" validation=\"$T/val.csv" "early_stop=EarlyStopping(monitor=\"val_accuracy\")"
expect 0 "$NETC" train "$T/acc.net" --epochs 3
contains "$T/out" "Best epoch: "
contains "$T/out" " val_accuracy = "

# Transforms: the random ones in training only, Normalize everywhere.  The
# saved net evaluated on the validation set gives the last epoch's
# val_loss (eval normalizes as validation did), the thread count changes
# no bit, and the emitted header tells the caller to normalize.
cat >"$T/tf.net" <<SPEC
model tf {
    input (1, 1, 3)
    layers Flatten -> Linear(3, 16) -> Tanh -> Linear(16, 2)
    loss CrossEntropy
    optimizer SGD(lr=0.2)
    train epochs=4 batch=16 shuffle=true seed=5
    transform Normalize(mean=(0.1,), std=(0.5,)) -> RandomCrop((1, 3), padding=(1, 0), padding_mode="edge")
        -> RandomHorizontalFlip(p=0.5) -> GaussianNoise(sigma=0.05, clip=false)
    data "$T/train.csv" validation="$T/val.csv"
}
SPEC
expect 0 "$NETC" train "$T/tf.net" --threads 1 --save "$T/tf1.safetensors" && grep '^Epoch' "$T/out" >"$T/tf1.e"
last=$(sed -n 's/^Epoch: 0004 .* val_loss = \([0-9.]*\).*/\1/p' "$T/out")
expect 0 "$NETC" train "$T/tf.net" --threads 3 --save "$T/tf3.safetensors" && grep '^Epoch' "$T/out" >"$T/tf3.e"
cmp -s "$T/tf1.e" "$T/tf3.e" && ok || fail "transforms: --threads 3 prints other epoch lines than --threads 1"
cmp -s "$T/tf1.safetensors" "$T/tf3.safetensors" && ok || fail "transforms: --threads 3 saves other weights"
expect 0 "$NETC" eval "$T/tf.net" --weights "$T/tf1.safetensors" --data "$T/val.csv" --batch 16
contains "$T/out" "loss = $last"
# without the random transforms the run differs (they do something)
sed 's/ -> RandomCrop.*/ -> Identity/; /RandomHorizontalFlip/d' "$T/tf.net" | sed 's/-> Identity//' >"$T/tfn.net"
expect 0 "$NETC" train "$T/tfn.net" && grep '^Epoch' "$T/out" >"$T/tfn.e"
cmp -s "$T/tf1.e" "$T/tfn.e" && fail "the random transforms changed nothing" || ok
mkdir -p "$T/emit"
expect 0 "$NETC" emit "$T/tf.net" -o "$T/emit"
contains "$T/emit/tf.h" "INPUTS: the spec transforms its data, and these functions do not."
contains "$T/emit/tf.h" "mean = {0.100000001f}, std = {0.5f}"

# MixUp and CutMix: training on mixed batches (CrossEntropy on class
# probabilities, label smoothing kept), the same bits at any thread count;
# validation and eval on the plain labels agree.
for mix in "MixUp(alpha=0.4)" "CutMix(alpha=1.0)"; do
    sed "s/^    data /    augment $mix\n    data /; s/loss CrossEntropy/loss CrossEntropy(label_smoothing=0.1)/" "$T/tf.net" >"$T/mix.net"
    expect 0 "$NETC" train "$T/mix.net" --threads 1 --save "$T/mix1.safetensors" && grep '^Epoch' "$T/out" >"$T/mix1.e"
    last=$(sed -n 's/^Epoch: 0004 .* val_loss = \([0-9.]*\).*/\1/p' "$T/out")
    expect 0 "$NETC" train "$T/mix.net" --threads 3 --save "$T/mix3.safetensors" && grep '^Epoch' "$T/out" >"$T/mix3.e"
    cmp -s "$T/mix1.e" "$T/mix3.e" && ok || fail "$mix: --threads 3 prints other epoch lines than --threads 1"
    cmp -s "$T/mix1.safetensors" "$T/mix3.safetensors" && ok || fail "$mix: --threads 3 saves other weights"
    cmp -s "$T/mix1.e" "$T/tf1.e" && fail "$mix changed nothing" || ok
    expect 0 "$NETC" eval "$T/mix.net" --weights "$T/mix1.safetensors" --data "$T/val.csv" --batch 16
    contains "$T/out" "loss = $last"
done

echo "data: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
