#!/bin/sh
# Data-parallel training under Open MPI, from make check when mpirun is
# installed and netc was built with MPI: 2 and 3 processes train the MLP
# and a CNN with BatchNorm and dropout to epoch costs within 1e-5
# (relative) of one process, the same process count gives the same bits
# twice, a checkpoint saved by 2 processes resumes under 3, LBFGS is
# refused, and a process failing on bad data ends the job with its error
# instead of a hang.
#
# usage: sh tests/mpi.sh [NETC]
set -u
. "$(dirname "$0")/harness.sh"
if ! command -v mpirun >/dev/null; then
    echo "mpi.sh: skipped (no mpirun; scripts/install-deps.sh installs Open MPI)"
    exit 0
fi
if ! ldd "$NETC" 2>/dev/null | grep -q libmpi; then
    echo "mpi.sh: skipped ($NETC was built without MPI: make clean && make)"
    exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
# A bounded run: a hang is a failure, not a stuck check.
run() { np=$1; shift; timeout 300 mpirun --oversubscribe --allow-run-as-root -q -np "$np" "$NETC" "$@"; }
SPEC=specs/mnist_mlp_default.net
costs() { sed -n 's/^Epoch: [0-9]* cost = //p' "$1"; }
# Whether the costs of files $1 and $2 agree within 1e-5 relative.
agree() {
    costs "$1" >"$T/a"; costs "$2" >"$T/b"
    [ -s "$T/a" ] && [ "$(wc -l <"$T/a")" = "$(wc -l <"$T/b")" ] || return 1
    paste "$T/a" "$T/b" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * $1) bad = 1 } END { exit bad }'
}

# Three processes scale each shard's mean gradient by 33/100 or 34/100,
# which rounds; on the default-init MLP that rounding moves epoch 3's cost
# by 7e-5 (relative), so the three-process comparison trains the softmax
# regression (docs/distributed.md).
for case in "2 $SPEC" "3 specs/mnist_softmax.net"; do
    set -- $case
    np=$1
    "$NETC" train $2 --epochs 3 --threads 1 >"$T/one$np.out" 2>"$T/one$np.err" \
        && ok || fail "1 process: $(cat "$T/one$np.err")"
    run $np train $2 --epochs 3 --threads 1 >"$T/np$np.out" 2>"$T/np$np.err" \
        && ok || fail "$np processes: $(cat "$T/np$np.err")"
    agree "$T/one$np.out" "$T/np$np.out" && ok || fail "$np processes' costs differ from one's: $(costs "$T/np$np.out")"
    [ "$(grep -c '^Epoch' "$T/np$np.out")" = 3 ] && ok || fail "$np processes: not 3 epoch lines (process 0 alone prints)"
done
# BatchNorm's statistics and the dropout masks are the global batch's, so
# a CNN with both trains alike under any process count: 3 processes split
# 64 as 21/21/22 (shards weighted unequally), and at batch 7998 the last
# step of each epoch has 2 samples, so under 3 processes process 0 has
# none and takes part in the statistics' sums only.
CNN=tests/specs/mpi/sync_cnn.net
"$NETC" train $CNN --threads 1 >"$T/cnn1.out" 2>"$T/cnn1.err" && ok || fail "CNN, 1 process: $(cat "$T/cnn1.err")"
"$NETC" train $CNN --threads 1 --batch 7998 >"$T/cnnb1.out" 2>"$T/cnnb1.err" \
    && ok || fail "CNN at batch 7998, 1 process: $(cat "$T/cnnb1.err")"
for np in 2 3; do
    run $np train $CNN --threads 1 >"$T/cnn$np.out" 2>"$T/cnn$np.err" && ok || fail "CNN, $np processes: $(cat "$T/cnn$np.err")"
    agree "$T/cnn1.out" "$T/cnn$np.out" && ok || fail "CNN, $np processes' costs differ from one's: $(costs "$T/cnn$np.out")"
done
run 3 train $CNN --threads 1 --batch 7998 >"$T/cnnb3.out" 2>"$T/cnnb3.err" \
    && ok || fail "CNN at batch 7998, 3 processes: $(cat "$T/cnnb3.err")"
agree "$T/cnnb1.out" "$T/cnnb3.out" && ok || fail "CNN with an empty shard, 3 processes: $(costs "$T/cnnb3.out")"

# LBFGS re-evaluates the loss inside its step: refused, not trained wrong.
run 2 train tests/specs/good/lbfgs_wolfe.net --epochs 1 --threads 1 >"$T/lbfgs.out" 2>"$T/lbfgs.err"
[ $? -ne 0 ] && grep -q "LBFGS cannot train across processes (2 here)" "$T/lbfgs.err" \
    && ok || fail "LBFGS under 2 processes: $(cat "$T/lbfgs.err")"

run 2 train $SPEC --epochs 3 --threads 1 >"$T/np2b.out" 2>/dev/null
cmp -s "$T/np2.out" "$T/np2b.out" && ok || fail "2 processes twice: different output"

# 2 epochs under 2 processes, then the third under 3, as 3 epochs in one go.
run 2 train $SPEC --epochs 2 --threads 1 --save "$T/w.safetensors" >"$T/r1.out" 2>"$T/r1.err" \
    && ok || fail "2 processes --save: $(cat "$T/r1.err")"
run 3 train $SPEC --epochs 1 --threads 1 --weights "$T/w.safetensors" >"$T/r2.out" 2>"$T/r2.err" \
    && ok || fail "3 processes --weights: $(cat "$T/r2.err")"
grep -h '^Epoch' "$T/r1.out" "$T/r2.out" >"$T/resumed.out"
agree "$T/one2.out" "$T/resumed.out" && ok || fail "resumed under 3 processes: $(costs "$T/resumed.out")"
grep -q '^Epoch: 0003' "$T/r2.out" && ok || fail "resumed run does not continue at epoch 3"

# Process 1 reads a broken CSV while process 0 would wait for its
# gradients: the job ends, with process 1's error.
printf '1,2,3\n' >"$T/bad.csv"
timeout 120 mpirun --oversubscribe --allow-run-as-root -q -np 1 "$NETC" train $SPEC --epochs 1 --threads 1 \
    : -np 1 "$NETC" train $SPEC --epochs 1 --threads 1 --data "$T/bad.csv" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok || fail "job with a failing process: exit status $rc"
grep -q "bad.csv:1: expected 785 columns" "$T/bad.err" && ok || fail "failing process's error missing: $(cat "$T/bad.err")"
grep -q "rank 1 of 2 failed" "$T/bad.err" && ok || fail "no job-ending message: $(cat "$T/bad.err")"

# A process that stops answering (SIGSTOP 2 s into a long run) ends the
# job after NETC_MPI_TIMEOUT seconds with a message, and one killed with
# SIGKILL ends it through mpirun: neither hangs.  The second process is
# netc started by a shell, which then stops or kills it.
for sig in STOP KILL; do
    NETC_MPI_TIMEOUT=3 timeout 120 mpirun --oversubscribe --allow-run-as-root -q -x NETC_MPI_TIMEOUT \
        -np 1 "$NETC" train $CNN --epochs 200 --threads 1 \
        : -np 1 sh -c '"$1" train "$2" --epochs 200 --threads 1 & p=$!; sleep 2; kill -'$sig' $p; wait $p' \
        sh "$NETC" $CNN >"$T/sig.out" 2>"$T/sig.err"
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && ok || fail "job with a SIG$sig process: exit status $rc"
    if [ $sig = STOP ]; then
        grep -q "rank 0 of 2: no word from rank 1 or 1 in 3 s (NETC_MPI_TIMEOUT); ending the job" "$T/sig.err" \
            && ok || fail "no timeout message: $(cat "$T/sig.err")"
    fi
done
NETC_MPI_TIMEOUT=0 run 2 train $CNN --epochs 1 --threads 1 >/dev/null 2>"$T/to.err"
[ $? -ne 0 ] && grep -q "NETC_MPI_TIMEOUT must be a number of seconds above 0, not '0'" "$T/to.err" \
    && ok || fail "NETC_MPI_TIMEOUT=0: $(cat "$T/to.err")"

echo "mpi.sh: $pass passed, $failed failed"
[ $failed -eq 0 ]
