#!/bin/sh
# bench/mpi.sh — data-parallel training: samples/s of one epoch of
# specs/fashion_cnn.net with 1 and 2 processes of one thread each
# (mpirun), alternating, BENCH_MPI_RUNS times (default 3); prints the
# median of each, their ratio (target: >= 1.7) and the bytes process 0
# sent per step.  It measures; it never fails on a number.  Skipped when
# netc was built without MPI or the data set is missing.
#
# usage: sh bench/mpi.sh     (`make bench` runs it after bench/run.sh)
# environment: BENCH_MPI_RUNS=N, BENCH_DATA=DIR (default Debian's Fashion-MNIST), NETC=PATH
set -eu
cd "$(dirname "$0")/.."
NETC=${NETC:-./netc}
DATA=${BENCH_DATA:-/usr/share/datasets/fashion-mnist}
RUNS=${BENCH_MPI_RUNS:-3}
OUT=build/bench
mkdir -p "$OUT"
if ! command -v mpirun >/dev/null || ! ldd "$NETC" 2>/dev/null | grep -q libmpi; then
    echo "mpi: skipped (netc built without Open MPI; apt-get install openmpi-bin libopenmpi-dev, make clean && make)"
    exit 0
fi
[ -d "$DATA" ] || { echo "mpi: skipped (no $DATA: apt-get install dataset-fashion-mnist)"; exit 0; }
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
rate() { sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
: >"$OUT/mpi1.rates"; : >"$OUT/mpi2.rates"
i=0
while [ $i -lt "$RUNS" ]; do
    "$NETC" train specs/fashion_cnn.net --data "$DATA" --epochs 1 --threads 1 >"$OUT/mpi1.out" 2>&1
    rate "$OUT/mpi1.out" >>"$OUT/mpi1.rates"
    mpirun --oversubscribe --allow-run-as-root -q -np 2 "$NETC" train specs/fashion_cnn.net --data "$DATA" \
        --epochs 1 --threads 1 >"$OUT/mpi2.out" 2>&1
    rate "$OUT/mpi2.out" >>"$OUT/mpi2.rates"
    i=$((i + 1))
done
r1=$(median <"$OUT/mpi1.rates")
r2=$(median <"$OUT/mpi2.rates")
bytes=$(sed -n 's/.*, \([0-9]*\) bytes sent by process 0 per step/\1/p' "$OUT/mpi2.out")
echo "fashion_cnn training samples/s, 1 thread each: 1 process $r1, 2 processes $r2" \
     "(runs: $(tr '\n' ' ' <"$OUT/mpi1.rates")/ $(tr '\n' ' ' <"$OUT/mpi2.rates"))"
awk -v a="$r1" -v b="$r2" 'BEGIN { if (a > 0) printf "  2 processes / 1 process: %.2fx (target >= 1.7)\n", b / a }'
echo "  bytes sent by process 0 per step: ${bytes:--}"
