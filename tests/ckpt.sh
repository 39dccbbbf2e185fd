#!/bin/sh
# Checkpoints under failure, from make check: the pair layout, metadata
# range checks, a checkpoint of another model, the writer's lock, a
# file-size limit and a full disk (the old pair survives, no temporary
# file stays), and fault injection: `train --save` killed (SIGKILL,
# SIGTERM) at random points leaves a pair that loads and resumes to the
# bits of an uninterrupted run.
#
# usage: sh tests/ckpt.sh [NETC] [TRIALS]   (from the project root)
set -u
. tests/harness.sh
TRIALS=${2:-50}

# expect STATUS CMD...: run CMD, require exit status STATUS; output in $T/out, $T/err
expect() {
    want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "'$*' exited $got, expected $want: $(head -3 "$T/err")"
        return 1
    fi
    ok
}
contains() { if grep -qF -- "$2" "$1"; then ok; else fail "$1 lacks '$2': $(head -3 "$1")"; fi; }
# the companion of checkpoint $1: the one its netc.pair names (a save killed
# between its two renames leaves the next pair's companion beside it too)
companion() {
    pair=$(grep -ao '"netc.pair":"[0-9a-f]*"' "$1" | head -1 | sed 's/.*:"\(.*\)"/\1/')
    echo "${1%.safetensors}.train-$pair.safetensors"
}
# how many companions checkpoint $1 has beside it
companions() { ls "${1%.safetensors}".train-*.safetensors 2>/dev/null | wc -l; }
no_temp() { # DIR
    if ls -a "$1" | grep -q 'netc-tmp'; then fail "temporary files left in $1: $(ls -a "$1" | tr '\n' ' ')"; else ok; fi
}
same_pair() { # A B: the same model file and companion bytes
    cmp -s "$1" "$2" && cmp -s "$(companion "$1")" "$(companion "$2")"
}

awk 'BEGIN { srand(11); print "label,a,b,c";
             for (i = 0; i < 300; i++) { a = rand()*2-1; b = rand()*2-1; c = rand()*2-1;
                 printf "%d,%.4f,%.4f,%.4f\n", (a + b - c > 0), a, b, c } }' > "$T/train.csv"
# Adam, a schedule, shuffling and dropout: every part of the training state matters to the bits.
cat > "$T/m.net" <<'SPEC'
model m {
    input 3
    layers Linear(3, 16) -> ReLU -> Dropout(p=0.2) -> Linear(16, 2)
    loss CrossEntropy
    optimizer Adam(lr=0.01)
    schedule StepLR(step_size=2, gamma=0.5)
    train epochs=2 batch=16 shuffle=true seed=4
}
SPEC
sed 's/-> ReLU ->/-> Tanh ->/' "$T/m.net" > "$T/tanh.net"
train() { "$NETC" train "$T/m.net" --data "$T/train.csv" "$@"; }

# --- the pair --------------------------------------------------------------
mkdir "$T/p"
expect 0 train --save "$T/p/c.safetensors"
[ "$(companions "$T/p/c.safetensors")" -eq 1 ] && [ -f "$(companion "$T/p/c.safetensors")" ] && ok ||
    fail "no single companion: $(ls "$T/p")"
no_temp "$T/p"
# the model file holds no optimizer state; the companion names the same pair
grep -aq 'optim\.' "$T/p/c.safetensors" && fail "optimizer state in the model file" || ok
id=$(ls "$T/p"/c.train-*.safetensors | sed 's/.*\.train-\([0-9a-f]*\)\.safetensors$/\1/')
grep -aqF "\"netc.pair\":\"$id\"" "$T/p/c.safetensors" && ok || fail "model file does not name pair $id"
grep -aqF "\"netc.pair\":\"$id\"" "$(companion "$T/p/c.safetensors")" && ok || fail "companion is not of pair $id"
# a second save replaces the pair: still one companion
cp "$T/p/c.safetensors" "$T/p/first.safetensors"
expect 0 train --weights "$T/p/c.safetensors" --epochs 1 --save "$T/p/c.safetensors"
[ "$(companions "$T/p/c.safetensors")" -eq 1 ] && ok || fail "old companion left: $(ls "$T/p")"
# a model file without its companion: weights only, with a note
cp "$T/p/c.safetensors" "$T/alone.safetensors"
expect 0 train --weights "$T/alone.safetensors" --epochs 1
contains "$T/err" "has no training state beside it"

# a FIFO or a directory as --weights: refused at once, not waited on
mkfifo "$T/fifo"
expect 1 timeout 20 "$NETC" eval "$T/m.net" --data "$T/train.csv" --weights "$T/fifo"
contains "$T/err" "fifo: cannot open: not a regular file (a FIFO)"
expect 1 "$NETC" eval "$T/m.net" --data "$T/train.csv" --weights "$T/p"
contains "$T/err" "not a regular file"

# --- another model -----------------------------------------------------------
expect 1 "$NETC" train "$T/tanh.net" --data "$T/train.csv" --weights "$T/p/c.safetensors" --epochs 1
contains "$T/err" "the checkpoint is of another model: layer 1 is ReLU(inplace=false) in it but Tanh() here"
expect 1 "$NETC" eval "$T/tanh.net" --data "$T/train.csv" --weights "$T/p/c.safetensors"
contains "$T/err" "--force loads its weights anyway"
expect 0 "$NETC" eval "$T/tanh.net" --data "$T/train.csv" --weights "$T/p/c.safetensors" --force
contains "$T/err" "warning: "
contains "$T/err" "loading its weights anyway (--force)"
expect 0 "$NETC" train "$T/tanh.net" --data "$T/train.csv" --weights "$T/p/c.safetensors" --epochs 1 --force
contains "$T/err" "only the weights are loaded"
# other training settings are the same model
sed 's/epochs=2/epochs=3/; s/seed=4/seed=5/' "$T/m.net" > "$T/m3.net"
expect 0 "$NETC" eval "$T/m3.net" --data "$T/train.csv" --weights "$T/p/c.safetensors"

# --- metadata out of range (every key and limit: tests/test_checkpoint.c) ---------
# bad KEY VALUE MESSAGE: the companion with KEY's value replaced (same length
# so the header stays valid) is refused with MESSAGE
bad() {
    rm -rf "$T/b"; mkdir "$T/b"
    cp "$T/p/c.safetensors" "$T/b/c.safetensors"
    comp=$(companion "$T/p/c.safetensors")
    LC_ALL=C awk -v k="\"$1\":\"" -v v="$2" 'BEGIN { RS = "^$"; ORS = "" }
        { i = index($0, k); if (!i) exit 1; s = i + length(k); e = index(substr($0, s), "\"");
          old = substr($0, s, e - 1); pad = v; while (length(pad) < length(old)) pad = " " pad;
          if (length(pad) > length(old)) exit 2; print substr($0, 1, s - 1) pad substr($0, s + e - 1) }' \
        "$comp" > "$T/b/$(basename "$comp")" || { fail "cannot patch $1 to '$2'"; return; }
    expect 1 train --weights "$T/b/c.safetensors" --epochs 1
    contains "$T/err" "$3"
}
bad netc.sched.lr nan "is not a number"
bad netc.sched.lr 1e308 "is out of range: an lr must be from 0 to 3.40282347e+38"

# --- the writer's lock ------------------------------------------------------------
if command -v flock >/dev/null; then
    # this shell holds the lock, as a running netc would
    exec 9>"$T/p/c.safetensors.lock"
    flock -n 9 || fail "cannot take the lock"
    cp "$T/p/c.safetensors" "$T/p/before.safetensors"
    expect 1 train --save "$T/p/c.safetensors"
    contains "$T/err" "another netc process is writing this file (it holds $T/p/c.safetensors.lock)"
    cmp -s "$T/p/c.safetensors" "$T/p/before.safetensors" && ok || fail "a refused writer changed the checkpoint"
    exec 9>&-
else
    fail "flock(1) is not installed (util-linux)"
fi

# --- file-size limit: the save fails with a message, the old pair stays -----------------
# (above what MPI's start-up writes: its limit must be a few MiB)
sed 's/Linear(3, 16) -> ReLU -> Dropout(p=0.2) -> Linear(16, 2)/Linear(3, 300000) -> ReLU -> Linear(300000, 2)/' \
    "$T/m.net" > "$T/wide.net"
mkdir "$T/f"
printf 'old' > "$T/f/w.safetensors"
( ulimit -f 8192; exec "$NETC" train "$T/wide.net" --data "$T/train.csv" --epochs 1 --save "$T/f/w.safetensors" ) \
    >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && ok || fail "a save over the file-size limit did not exit 1: $(cat "$T/err")"
contains "$T/err" "File too large"
[ "$(cat "$T/f/w.safetensors")" = old ] && ok || fail "the file-size limit cost the old checkpoint"
no_temp "$T/f"

# --- full disk: a small tmpfs (as root, where mounts are allowed) ----------------------
mkdir "$T/full"
if mount -t tmpfs -o size=96k tmpfs "$T/full" 2>/dev/null; then
    expect 0 train --epochs 1 --save "$T/full/c.safetensors"
    cp "$T/full/c.safetensors" "$T/full-before.safetensors"
    dd if=/dev/zero of="$T/full/filler" bs=4k count=1000 2>/dev/null
    expect 1 train --weights "$T/full/c.safetensors" --epochs 1 --save "$T/full/c.safetensors"
    contains "$T/err" "No space left on device"
    cmp -s "$T/full/c.safetensors" "$T/full-before.safetensors" && ok || fail "a full disk cost the old checkpoint"
    no_temp "$T/full"
    expect 0 "$NETC" eval "$T/m.net" --data "$T/train.csv" --weights "$T/full/c.safetensors"
    expect 1 "$NETC" predict "$T/m.net" --data "$T/train.csv" --weights "$T/full/c.safetensors" \
        --output "$T/full/p.csv"
    contains "$T/err" "No space left on device"
    [ -e "$T/full/p.csv" ] && fail "a failed predict --output left a file" || ok
    no_temp "$T/full"
    umount "$T/full"
else
    echo "ckpt.sh: note: cannot mount a tmpfs here; the full-disk case runs on /dev/full only"
fi
expect 1 "$NETC" predict "$T/m.net" --data "$T/train.csv" --weights "$T/p/c.safetensors" --output /dev/full
contains "$T/err" "/dev/full: write failed: No space left on device"
[ -c /dev/full ] && ok || fail "/dev/full is no longer a device"

# --- fault injection ------------------------------------------------------------------
# References: 2 to 5 epochs in one run each.  A trial starts from the
# 2-epoch pair, resumes for 2 more epochs saving over it, and is signalled
# after a random delay; the pair left must be the 2- or the 4-epoch one
# (loadable), and resuming from it for one epoch must give the 3- or
# 5-epoch pair bit for bit, with no temporary file left behind.  A SIGTERM
# that training handles by saving where it stopped (exit 143) may leave a
# pair of its own: that one must load and resume.
mkdir "$T/ref"
for e in 2 3 4 5; do
    train --epochs $e --save "$T/ref/e$e.safetensors" >/dev/null 2>&1 && ok || fail "reference run of $e epochs"
done
# how long a trial's run takes, in ms: the kills are spread over it
start=$(date +%s%N)
mkdir "$T/time"
cp "$T/ref/e2.safetensors" "$(companion "$T/ref/e2.safetensors")" "$T/time/"
train --weights "$T/time/e2.safetensors" --epochs 2 --save "$T/time/e2.safetensors" >/dev/null 2>&1
span=$(( ($(date +%s%N) - start) / 1000000 + 5 ))
kills=0; old=0; new=0; own=0
trial=0
while [ $trial -lt "$TRIALS" ]; do
    trial=$((trial + 1))
    d="$T/k$trial"
    mkdir "$d"
    cp "$T/ref/e2.safetensors" "$(companion "$T/ref/e2.safetensors")" "$d/"
    sig=KILL
    [ $((trial % 2)) -eq 0 ] && sig=TERM
    delay=$(awk -v s="$span" -v t="$trial" 'BEGIN { srand(t * 7919); printf "%.3f", rand() * s / 1000 }')
    # netc itself in the background (not a subshell running it): the signal must reach it
    "$NETC" train "$T/m.net" --data "$T/train.csv" --weights "$d/e2.safetensors" --epochs 2 \
        --save "$d/e2.safetensors" >"$d/out" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -$sig $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid
    status=$?
    # finished (0), killed (137), or SIGTERM, handled by saving and exiting (143) or not
    case $status in 0|137|143) ok ;; *) fail "trial $trial: train exited $status: $(cat "$d/out")" ;; esac
    if same_pair "$d/e2.safetensors" "$T/ref/e2.safetensors"; then
        old=$((old + 1)); want=e3
    elif same_pair "$d/e2.safetensors" "$T/ref/e4.safetensors"; then
        new=$((new + 1)); want=e5
    elif [ $sig = TERM ] && [ $status -eq 143 ]; then
        own=$((own + 1)); want=
    else
        fail "trial $trial ($sig after ${delay}s, exit $status): the pair is neither the old nor the new one"
        want=
    fi
    # the pair loads: resuming from it (which also saves over it)
    train --weights "$d/e2.safetensors" --epochs 1 --save "$d/e2.safetensors" >"$d/out" 2>&1 \
        || fail "trial $trial: resuming failed: $(cat "$d/out")"
    if [ -z "$want" ] || same_pair "$d/e2.safetensors" "$T/ref/$want.safetensors"; then ok
    else fail "trial $trial ($sig after ${delay}s): resumed pair differs from the uninterrupted $want run: $(ls "$d")"; fi
    [ "$(companions "$d/e2.safetensors")" -eq 1 ] && ok || fail "trial $trial: companions: $(ls "$d")"
    no_temp "$d"
    rm -rf "$d"
done
echo "ckpt.sh: $TRIALS trials over ${span} ms runs: $kills signalled, $old left the old pair, $new the new one, $own a pair saved on SIGTERM"

echo "ckpt.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
