#!/bin/sh
# bench/run.sh — netc against PyTorch on one epoch of the default-init MLP.
#
# Trains specs/mnist_mlp_default.net for one epoch with netc and, when
# PyTorch is importable, with the equivalent bench/torch_mlp.py, one thread
# each, BENCH_RUNS times (default 5) in alternation, and prints the median
# training throughput and peak resident memory of both; then the same for
# the CNN specs specs/lenet5.net and specs/fashion_cnn.net against
# bench/torch_cnn.py.  It measures; it never fails on a number, nor on a
# CNN spec netc cannot compile yet.  See bench/README.md.
#
# usage: sh bench/run.sh     (from the project root, after `make netc`;
#                             `make bench` does both)
# environment: BENCH_RUNS=N  runs per program (default 5)
#              BENCH_CNN_RUNS=N  runs per program of the CNN rows (default 3; 0: none)
#              BENCH_DATA=DIR  an IDX data directory instead of the default
#              NETC=PATH     the netc binary (default ./netc)
set -eu

cd "$(dirname "$0")/.."
NETC=${NETC:-./netc}
SPEC=specs/mnist_mlp_default.net
RUNS=${BENCH_RUNS:-5}
OUT=build/bench
mkdir -p "$OUT"

# One thread everywhere: OpenBLAS (netc and PyTorch), OpenMP (PyTorch).
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS MKL_NUM_THREADS
# glibc keeps freed memory for reuse instead of unmapping or trimming it.
# PyTorch allocates each call's outputs afresh; with glibc's defaults some
# processes got new pages, and their page faults, on every call: 2 of 8
# runs of bench/torch_predict.py ran at about 119,000 samples/s, the rest
# at 284,000-328,000, and with these settings 10 of 10 ran at
# 317,000-328,000.  PyTorch's best case, and the same for every run; netc
# allocates before its loops, so they do not change its times.
MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824
export MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_

if [ ! -x "$NETC" ]; then
    echo "bench: $NETC not built; run 'make netc' (or 'make bench')" >&2
    exit 1
fi

# --- data ---------------------------------------------------------------
if [ -n "${BENCH_DATA:-}" ]; then
    DATA=$BENCH_DATA
    DATA_NAME="$BENCH_DATA (BENCH_DATA)"
elif [ -d /usr/share/datasets/fashion-mnist ]; then
    DATA=/usr/share/datasets/fashion-mnist
    DATA_NAME="Fashion-MNIST ($DATA)"
else
    DATA=data/mnist-10k
    DATA_NAME="bundled MNIST subset ($DATA; /usr/share/datasets/fashion-mnist is absent)"
fi

# --- PyTorch: the first of python3, /usr/bin/python3 that imports torch --
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1; then
        PY=$p
        break
    fi
done

# --- resource measurement: wall seconds and max RSS (KiB) of a command ---
# measure PREFIX CMD... : stdout to PREFIX.out, stderr to PREFIX.err,
# "WALL MAXRSS_KIB" to PREFIX.res; returns the command's status.
RES_TOOL=none
if [ -x /usr/bin/time ] && /usr/bin/time -f '%e %M' -o /dev/null true >/dev/null 2>&1; then
    RES_TOOL=gnu-time
else
    for p in python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null 2>&1; then RES_PY=$p; RES_TOOL=python; break; fi
    done
fi
measure() {
    prefix=$1; shift
    case $RES_TOOL in
    gnu-time)
        /usr/bin/time -f '%e %M' -o "$prefix.res" "$@" >"$prefix.out" 2>"$prefix.err" ;;
    python)
        # ru_maxrss of the waited-for children, in KiB on Linux.
        "$RES_PY" -c '
import resource, subprocess, sys, time
t = time.monotonic()
with open(sys.argv[2], "w") as o, open(sys.argv[3], "w") as e:
    rc = subprocess.call(sys.argv[4:], stdout=o, stderr=e)
wall = time.monotonic() - t
with open(sys.argv[1], "w") as r:
    r.write("%.2f %d\n" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' "$prefix.res" "$prefix.out" "$prefix.err" "$@" ;;
    *)
        "$@" >"$prefix.out" 2>"$prefix.err" && echo "- -" >"$prefix.res" ;;
    esac
}

# The training time line both programs print on stderr:
#   train: N samples x E epochs in S s (R samples/s)
# train_rate FILE prints N*E/S, or nothing when the line is missing.
train_rate() {
    sed -n 's/^train: \([0-9][0-9]*\) samples x \([0-9][0-9]*\) epochs in \([0-9.][0-9.]*\) s.*/\1 \2 \3/p' "$1" |
        awk 'NR == 1 && $3 > 0 { printf "%.0f\n", $1 * $2 / $3 }'
}
per_second() { # N SECONDS -> N/SECONDS rounded, "-" when unknown
    awk -v n="$1" -v s="$2" 'BEGIN { if (n ~ /^[0-9]+$/ && s ~ /^[0-9.]+$/ && s > 0) printf "%.0f\n", n / s; else print "-" }'
}
# idx_count FILE: the first dimension of an IDX file (gzip-compressed or not)
idx_count() {
    case $1 in *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac 2>/dev/null | od -An -tu1 -j4 -N4 |
        awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}
# median of the numbers in the arguments ("-" when none)
median() {
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2];
                                  else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
best() { # the largest of the numbers in the arguments ("-" when none)
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk 'END { print NR ? $1 : "-" }'
}
ratio() { # A B -> A/B with 2 decimals, "-" when either is missing
    awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f\n", a / b; else print "-" }'
}
mib() { awk -v k="$1" 'BEGIN { if (k ~ /^[0-9.]+$/) printf "%.0f\n", k / 1024; else print "-" }'; }
accuracy() { # FILE: the test accuracy a run printed, or nothing
    [ ! -f "$1" ] || sed -n 's/^Test accuracy: \([0-9.]*\).*/\1/p' "$1"
}
fail_run() { # NAME PREFIX
    echo "bench: $1 failed; its stderr:" >&2
    sed 's/^/    /' "$2.err" | tail -n 20 >&2
}

N_TRAIN=
for f in "$DATA/train-labels-idx1-ubyte.gz" "$DATA/train-labels-idx1-ubyte"; do
    if [ -f "$f" ]; then N_TRAIN=$(idx_count "$f"); break; fi
done

# --- machine --------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$CPU" ] || CPU=unknown
# The GEMM kernel set: netc chooses OpenBLAS's core itself (`netc explain`
# says which and why).  PyTorch, bench/sgemm_shapes.c and
# bench/openblas_info.c load the same OpenBLAS, and OPENBLAS_CORETYPE gives
# them the same core, so both sides multiply with the same kernels.
#
# PyTorch "as installed" is PyTorch with the environment the bench found:
# OPENBLAS_CORETYPE as it was (or unset: OpenBLAS's own detection), which on
# a CPU newer than Debian's OpenBLAS can be a weaker core.  That is what a
# PyTorch user on this machine gets without setting anything; when its core
# differs from netc's, PyTorch runs both ways and the report shows both.
ENV_CORE_SET=${OPENBLAS_CORETYPE+set}
ENV_CORETYPE=${OPENBLAS_CORETYPE:-}
installed() { # CMD...: run CMD (a shell function too) with the environment's OpenBLAS core
    (
        if [ -n "$ENV_CORE_SET" ]; then
            OPENBLAS_CORETYPE=$ENV_CORETYPE
            export OPENBLAS_CORETYPE
        else
            unset OPENBLAS_CORETYPE
        fi
        "$@"
    )
}
HAVE_INFO=0
if ${CC:-cc} $(pkg-config --cflags openblas 2>/dev/null) -o "$OUT/openblas_info" bench/openblas_info.c \
        $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) >"$OUT/openblas_info.log" 2>&1; then
    HAVE_INFO=1
fi
INSTALLED_CORE=
[ "$HAVE_INFO" = 0 ] || INSTALLED_CORE=$(installed "$OUT/openblas_info" 2>/dev/null | sed -n 's/^core \([^;]*\);.*/\1/p')
BLAS_CORE=$("$NETC" explain "$SPEC" 2>/dev/null | sed -n 's/^matrix products: OpenBLAS, core \([^ ]*\) (\(.*\))$/\1/p')
BLAS_WHY=$("$NETC" explain "$SPEC" 2>/dev/null | sed -n 's/^matrix products: OpenBLAS, core \([^ ]*\) (\(.*\))$/\2/p')
case $BLAS_CORE in
"" | OpenBLAS*) ;; # OpenBLAS's own choice: leave the environment alone
*) OPENBLAS_CORETYPE=$BLAS_CORE; export OPENBLAS_CORETYPE ;;
esac
BLAS_INFO=unknown
[ "$HAVE_INFO" = 0 ] || BLAS_INFO=$("$OUT/openblas_info" 2>/dev/null || echo unknown)
# PY_INST: the python that runs PyTorch as installed, when its core differs.
PY_INST=
if [ -n "$PY" ] && [ -n "$INSTALLED_CORE" ] && [ -n "$BLAS_CORE" ] && [ "$INSTALLED_CORE" != "$BLAS_CORE" ]; then
    PY_INST=$PY
fi
# The machine's float32 multiply-add peak, one core: the ceiling of any GEMM.
FMA_PEAK=-
if ${CC:-cc} -O2 -march=native -ffp-contract=fast -o "$OUT/fma_peak" bench/fma_peak.c \
        >"$OUT/fma_peak.log" 2>&1; then
    FMA_PEAK=$("$OUT/fma_peak" 2>/dev/null | sed -n 's/^fma_peak_gflops: //p')
    [ -n "$FMA_PEAK" ] || FMA_PEAK=-
fi

echo "netc benchmark: $SPEC, 1 epoch, batch 100, 1 thread, $RUNS runs each"
echo "data:     $DATA_NAME, ${N_TRAIN:-?} training images"
echo "cpu:      $CPU ($(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?") cpus online)"
echo "OpenBLAS: $BLAS_INFO"
echo "GEMM kernels: OpenBLAS core ${BLAS_CORE:-?} for netc (${BLAS_WHY:-?}), PyTorch and the SGEMM limit"
[ -z "$PY_INST" ] || echo "PyTorch as installed (the environment's OPENBLAS_CORETYPE=${ENV_CORETYPE:-unset}): core $INSTALLED_CORE; also measured"
echo "float32 multiply-add peak, one core: $FMA_PEAK GFLOP/s (bench/fma_peak.c)"
if [ -z "$PY" ]; then
    echo "PyTorch is not installed (no python3 or /usr/bin/python3 imports torch); netc alone."
fi
[ "$RES_TOOL" != none ] || echo "note: neither GNU time (apt-get install time) nor python3 found; no peak RSS."

# --- runs, alternating netc and PyTorch -----------------------------------
n_rates= n_rss= n_wall= t_rates= t_rss= t_wall= t_failed=0 t_info= ti_rates=
i=1
while [ "$i" -le "$RUNS" ]; do
    printf 'run %d/%d: netc' "$i" "$RUNS" >&2
    if ! measure "$OUT/netc.$i" "$NETC" train "$SPEC" --data "$DATA" --epochs 1 --threads 1; then
        echo >&2
        fail_run netc "$OUT/netc.$i"
        exit 1
    fi
    n_rates="$n_rates $(train_rate "$OUT/netc.$i.err")"
    read -r w k <"$OUT/netc.$i.res" || true
    n_wall="$n_wall $w" n_rss="$n_rss $k"
    if [ -n "$PY" ] && [ "$t_failed" = 0 ]; then
        printf ', PyTorch' >&2
        if measure "$OUT/torch.$i" "$PY" bench/torch_mlp.py "$DATA" --epochs 1 --batch 100 --lr 0.001 --threads 1; then
            t_rates="$t_rates $(train_rate "$OUT/torch.$i.err")"
            read -r w k <"$OUT/torch.$i.res" || true
            t_wall="$t_wall $w" t_rss="$t_rss $k"
            t_info=$(sed -n 's/^torch: //p' "$OUT/torch.$i.err")
        else
            echo >&2
            fail_run PyTorch "$OUT/torch.$i"
            t_failed=1
        fi
    fi
    if [ -n "$PY_INST" ] && [ "$t_failed" = 0 ]; then
        printf ', PyTorch as installed' >&2
        if installed measure "$OUT/torchi.$i" "$PY" bench/torch_mlp.py "$DATA" --epochs 1 --batch 100 --lr 0.001 \
            --threads 1; then
            ti_rates="$ti_rates $(train_rate "$OUT/torchi.$i.err")"
        fi
    fi
    echo >&2
    i=$((i + 1))
done
[ -z "$t_info" ] || echo "PyTorch:  $t_info"

# netc's stderr lacks the training time line: fall back to whole-process
# wall time for both, so the two columns keep one definition.
if [ -z "$(echo $n_rates)" ]; then
    echo "note: netc printed no 'train: ...' timing line on stderr; using whole-process wall time"
    DEF="samples/s = training samples / wall time of the whole process (startup and, for PyTorch, its import, data loading, training, test evaluation)"
    n_rates= t_rates=
    for w in $n_wall; do n_rates="$n_rates $(per_second "$N_TRAIN" "$w")"; done
    for w in $t_wall; do t_rates="$t_rates $(per_second "$N_TRAIN" "$w")"; done
else
    DEF="samples/s = training samples / time from the first epoch's shuffle to the end of the epoch, timed inside each process (startup, data loading and test evaluation excluded)"
fi

nr=$(median $n_rates) tr=$(median $t_rates)
nb=$(best $n_rates) tb=$(best $t_rates)
nk=$(median $n_rss) tk=$(median $t_rss)
nw=$(median $n_wall) tw=$(median $t_wall)
nacc=$(accuracy "$OUT/netc.$RUNS.out")
tacc=
[ -z "$t_rates" ] || tacc=$(accuracy "$OUT/torch.$RUNS.out")
[ -n "$t_rates" ] || { tr=-; tb=-; tk=-; tw=-; }

echo
echo "$DEF; ${N_TRAIN:-?} training samples; medians of $RUNS runs."
echo "peak RSS = max resident set size of the whole process."
row() { printf '%-28s %10s %10s %13s\n' "$@"; }
row "" netc PyTorch netc/PyTorch
row "training samples/s" "$nr" "$tr" "$(ratio "$nr" "$tr")"
row "  best run" "$nb" "$tb" "$(ratio "$nb" "$tb")"
row "peak RSS, MiB" "$(mib "$nk")" "$(mib "$tk")" "$(ratio "$nk" "$tk")"
row "whole process, s" "$nw" "$tw" "$(ratio "$nw" "$tw")"
row "test accuracy (last run)" "${nacc:--}" "${tacc:--}" ""
tir=$(median $ti_rates)
[ -z "$PY_INST" ] || row "  PyTorch as installed ($INSTALLED_CORE)" "" "$tir" "$(ratio "$nr" "$tir")"
echo "samples/s of each run: netc$n_rates; PyTorch${t_rates:- -}${PY_INST:+; PyTorch as installed$ti_rates}"
echo "netc/PyTorch above 1: netc trains faster (samples/s), or uses more memory or time (RSS, s)."

# --- two threads: the same epoch on both cores ------------------------------
# PyTorch's own threads and OpenBLAS's are separate pools: both at 2 (what
# a user who sets nothing gets here) puts 4 busy threads on 2 cores, and
# trained at about a third of the speed of either way below.  So PyTorch
# runs two ways that keep to two threads, A: torch.set_num_threads(2) with
# OpenBLAS at 1, B: torch at 1 with OpenBLAS at 2, and the faster median is
# its figure.
# torch_way A|B PREFIX SCRIPT ARGS...: one PyTorch run on two threads, the
# way A or B, measured into PREFIX.*
torch_way() {
    way=$1 prefix=$2
    shift 2
    case $way in
    A) measure "$prefix" env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=2 "$PY" "$@" --threads 2 ;;
    B) measure "$prefix" env OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 "$PY" "$@" --threads 1 ;;
    esac
}
n2= t2a= t2b=
i=1
while [ "$i" -le "$RUNS" ]; do
    printf 'run %d/%d, 2 threads: netc' "$i" "$RUNS" >&2
    if measure "$OUT/netc2.$i" "$NETC" train "$SPEC" --data "$DATA" --epochs 1 --threads 2; then
        n2="$n2 $(train_rate "$OUT/netc2.$i.err")"
    fi
    if [ -n "$PY" ] && [ "$t_failed" = 0 ]; then
        printf ', PyTorch A' >&2
        if torch_way A "$OUT/torch2a.$i" bench/torch_mlp.py "$DATA" --epochs 1 --batch 100 --lr 0.001; then
            t2a="$t2a $(train_rate "$OUT/torch2a.$i.err")"
        fi
        printf ', PyTorch B' >&2
        if torch_way B "$OUT/torch2b.$i" bench/torch_mlp.py "$DATA" --epochs 1 --batch 100 --lr 0.001; then
            t2b="$t2b $(train_rate "$OUT/torch2b.$i.err")"
        fi
    fi
    echo >&2
    i=$((i + 1))
done
n2r=$(median $n2) t2ar=$(median $t2a) t2br=$(median $t2b)
t2r=$(best "$t2ar" "$t2br")
echo
echo "2 threads, medians of $RUNS runs: netc --threads 2; PyTorch the faster of A (its 2 threads, OpenBLAS at 1)"
echo "and B (its 1 thread, OpenBLAS at 2):"
row "" netc PyTorch netc/PyTorch
row "training samples/s" "$n2r" "$t2r" "$(ratio "$n2r" "$t2r")"
row "  netc 2 threads / 1 thread" "$(ratio "$n2r" "$nr")" "" ""
echo "samples/s of each run: netc$n2; PyTorch A${t2a:- -}; PyTorch B${t2b:- -}"

# --- the GEMM limit: single-thread SGEMM at the model's own shapes ---------
# bench/sgemm_shapes.c times the cblas_sgemm calls of one training batch;
# the flops per sample over that speed bounds the samples/s of any
# implementation that spends its time in those products.
if ${CC:-cc} -O2 $(pkg-config --cflags openblas 2>/dev/null) -o "$OUT/sgemm_shapes" bench/sgemm_shapes.c \
        $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) >"$OUT/sgemm_shapes.log" 2>&1; then
    "$OUT/sgemm_shapes" >"$OUT/sgemm_shapes.out" 2>&1 || true
    gf=$(sed -n 's/^sgemm_gflops: //p' "$OUT/sgemm_shapes.out")
    fps=$(sed -n 's/^flops_per_sample: //p' "$OUT/sgemm_shapes.out")
    limit=$(awk -v g="$gf" -v f="$fps" 'BEGIN { if (g > 0 && f > 0) printf "%.0f\n", g * 1e9 / f; else print "-" }')
    pct=$(awk -v r="$nr" -v l="$limit" 'BEGIN { if (r ~ /^[0-9.]+$/ && l ~ /^[0-9.]+$/ && l > 0) printf "%.0f%%\n", 100 * r / l; else print "-" }')
    echo
    echo "GEMM limit: OpenBLAS core ${BLAS_CORE:-?}, 1 thread, sgemm at the model's shapes ${gf:--} GFLOP/s,"
    echo "${fps:--} flops per training sample: at most ${limit:--} samples/s; netc's 1-thread median is ${pct:--} of that."
    echo "That SGEMM runs at $(awk -v g="${gf:--}" -v p="$FMA_PEAK" 'BEGIN { if (g ~ /^[0-9.]+$/ && p ~ /^[0-9.]+$/ && p > 0) printf "%.0f%%", 100 * g / p; else print "-" }') of the machine's float32 multiply-add peak ($FMA_PEAK GFLOP/s, one core)."
fi

# --- batch-1 latency: emitted C against PyTorch's model(x) ------------------
# netc emit writes the trained MLP as C with its weights embedded;
# bench/emit_latency.c calls its predict on one input; bench/torch_latency.py
# times model(x) on one input.  Medians of 21 rounds of 2000 calls each.
#
# emit_latency DIR SPEC WEIGHTS CALLS [--blas]: write SPEC as C with WEIGHTS
# embedded into DIR (portable loops, or cblas_sgemm calls with --blas,
# linked with the OpenBLAS the bench set up), build bench/emit_latency.c
# against it and print its median microseconds per batch-1 call over 21
# rounds of CALLS calls; prints nothing when a step fails (DIR keeps its
# output).
emit_latency() {
    el_model=$(sed -n 's/^[[:space:]]*model[[:space:]][[:space:]]*\([A-Za-z_][A-Za-z_0-9]*\).*/\1/p' "$2" | head -n 1)
    el_blas= el_cflags= el_libs=-lm
    if [ "${5:-}" = --blas ]; then
        el_blas=--blas
        el_cflags=$(pkg-config --cflags openblas 2>/dev/null || true)
        el_libs="$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lm"
    fi
    mkdir -p "$1"
    "$NETC" emit "$2" --weights "$3" $el_blas -o "$1" >"$1/emit.out" 2>&1 &&
        ${CC:-cc} -std=c99 -O2 -march=native $el_cflags -I"$1" -DMODEL="$el_model" -DMODEL_H="\"$el_model.h\"" \
            -o "$1/latency" bench/emit_latency.c "$1/$el_model.c" $el_libs >"$1/cc.out" 2>&1 &&
        "$1/latency" "$4" 2>"$1/latency.err" | sed -n 's/^emit_us: //p'
    return 0 # a failure shows as no number: the bench goes on
}
mkdir -p "$OUT/emit"
eu=
if "$NETC" train "$SPEC" --epochs 1 --save "$OUT/emit/w.safetensors" >"$OUT/emit/train.out" 2>&1; then
    eu=$(emit_latency "$OUT/emit" "$SPEC" "$OUT/emit/w.safetensors" 2000)
fi
if [ -n "$eu" ]; then
    tu=-
    [ -z "$PY" ] || tu=$("$PY" bench/torch_latency.py 2>/dev/null | sed -n 's/^torch_us: //p')
    # PyTorch as installed, when its core differs from netc's.
    tue=
    [ -z "$PY_INST" ] || tue=$(installed "$PY" bench/torch_latency.py 2>/dev/null | sed -n 's/^torch_us: //p')
    echo
    echo "batch-1 latency, one 784-float input (medians of 21 rounds x 2000 calls; ${CC:-cc} -O2 -march=native):"
    row "" "emitted C" PyTorch "PyTorch/emit"
    row "predict, microseconds" "${eu:--}" "${tu:--}" "$(ratio "${tu:--}" "${eu:--}")"
    echo "PyTorch/emit above 1: the emitted code answers faster."
    [ -z "$tue" ] || row "  PyTorch as installed ($INSTALLED_CORE)" "" "$tue" "$(ratio "$tue" "${eu:--}")"
else
    echo "bench: training, emitting, compiling or timing the MLP as C failed; see $OUT/emit/" >&2
fi

# --- inference: netc predict against PyTorch's model(x), one big batch ------
# The test images (at most 10,000) as one batch, one thread each, BENCH_RUNS
# alternating runs.  netc's number is its `predict: N samples in S s (R
# samples/s)` line: a fresh process converting the image bytes and running
# the forward ops on buffers already mapped (loading the data and writing
# the outputs are outside it), in passes cut to fit the caches (1,600
# samples of this MLP: rt_inference_rows in runtime/train.c).  bench/torch_predict.py prints
# the same line for the median of 11 calls of model(x) after 10 warm-up
# calls, whose memory is mapped too (PyTorch's best case), and a `predict
# first call:` line for the first call of the process, shown below the
# table.  The weights do not change the time: one epoch of training makes
# them.
PD=$OUT/predict
mkdir -p "$PD"
N_TEST=
for f in "$DATA/t10k-labels-idx1-ubyte.gz" "$DATA/t10k-labels-idx1-ubyte"; do
    if [ -f "$f" ]; then N_TEST=$(idx_count "$f"); break; fi
done
PB=$(awk -v n="${N_TEST:-0}" 'BEGIN { print (n > 0 && n < 10000) ? n : 10000 }')
predict_rate() { # FILE [LABEL]: R of the first `LABEL: N samples in S s (R samples/s)` line
    sed -n "s/^${2:-predict}: [0-9][0-9]* samples in [0-9.][0-9.]* s (\([0-9][0-9]*\) samples\/s).*/\1/p" "$1" |
        head -n 1
}
if ! "$NETC" train "$SPEC" --data "$DATA" --epochs 1 --threads 1 --save "$PD/w.safetensors" >"$PD/train.out" 2>&1; then
    echo "bench: training the predict weights failed; see $PD/train.out" >&2
else
    # THREADS PREFIX: one netc predict run; prints its samples/s, or fails
    netc_predict() {
        if measure "$2" "$NETC" predict "$SPEC" --weights "$PD/w.safetensors" --data "$DATA" \
            --batch "$PB" --threads "$1" --output "$2.csv"; then
            predict_rate "$2.err"
        else
            echo >&2
            fail_run "netc predict --threads $1" "$2"
            return 1
        fi
    }
    np= tp= tf= tip= np2= tp2a= tp2b= pt_failed=0
    i=1
    while [ "$i" -le "$RUNS" ]; do
        printf 'run %d/%d, predict batch %s: netc' "$i" "$RUNS" "$PB" >&2
        r=$(netc_predict 1 "$PD/netc.$i") || exit 1
        np="$np $r"
        # Two threads each: netc's passes shared among its threads; PyTorch A
        # and B as for training (above).
        printf ', netc 2 threads' >&2
        r=$(netc_predict 2 "$PD/netc2.$i") || exit 1
        np2="$np2 $r"
        if [ -n "$PY" ] && [ "$pt_failed" = 0 ]; then
            printf ', PyTorch' >&2
            if measure "$PD/torch.$i" "$PY" bench/torch_predict.py "$DATA" --batch "$PB" --threads 1; then
                tp="$tp $(predict_rate "$PD/torch.$i.err")"
                tf="$tf $(predict_rate "$PD/torch.$i.err" "predict first call")"
            else
                echo >&2
                fail_run "PyTorch predict" "$PD/torch.$i"
                pt_failed=1
            fi
        fi
        if [ -n "$PY" ] && [ "$pt_failed" = 0 ]; then
            printf ', PyTorch A and B' >&2
            if torch_way A "$PD/torch2a.$i" bench/torch_predict.py "$DATA" --batch "$PB"; then
                tp2a="$tp2a $(predict_rate "$PD/torch2a.$i.err")"
            fi
            if torch_way B "$PD/torch2b.$i" bench/torch_predict.py "$DATA" --batch "$PB"; then
                tp2b="$tp2b $(predict_rate "$PD/torch2b.$i.err")"
            fi
        fi
        if [ -n "$PY_INST" ] && [ "$pt_failed" = 0 ]; then
            printf ', PyTorch as installed' >&2
            if installed measure "$PD/torchi.$i" "$PY" bench/torch_predict.py "$DATA" --batch "$PB" --threads 1; then
                tip="$tip $(predict_rate "$PD/torchi.$i.err")"
            fi
        fi
        echo >&2
        i=$((i + 1))
    done
    npr=$(median $np) tpr=$(median $tp) tfr=$(median $tf) tipr=$(median $tip) npr2=$(median $np2) tpr2=$(best "$(median $tp2a)" "$(median $tp2b)")
    echo
    echo "inference: the ${N_TEST:-?} test images as one batch of $PB, 1 thread, medians of $RUNS runs;"
    echo "netc: \`netc predict --batch $PB\` (bytes to floats and forward ops, memory mapped first, in passes of at most 8 MiB of activations);"
    echo "PyTorch: model(x) under torch.no_grad(), median of 11 calls after 10 warm-up calls:"
    row "" netc PyTorch netc/PyTorch
    row "predict samples/s, batch $PB" "$npr" "$tpr" "$(ratio "$npr" "$tpr")"
    [ -z "$PY_INST" ] || row "  PyTorch as installed ($INSTALLED_CORE)" "" "$tipr" "$(ratio "$npr" "$tipr")"
    row "predict samples/s, 2 threads each" "$npr2" "$tpr2" "$(ratio "$npr2" "$tpr2")"
    echo "predict samples/s of each run: netc$np; PyTorch${tp:- -}${PY_INST:+; PyTorch as installed$tip}"
    echo "with 2 threads: netc$np2; PyTorch A${tp2a:- -}; PyTorch B${tp2b:- -} (A, B and the faster counting: as for training)"
    echo "PyTorch's first call of a process (its output memory mapped during the call): ${tfr:--} samples/s (median)"
fi

# --- compile time: netc check / explain of every shipped spec ---------------
# Whole processes, as a user or a build runs them: 25 in a row per spec and
# command, timed together; the slowest spec's mean is reported.
compile_ms() { # COMMAND: the largest per-run mean over specs/*.net, in ms
    for s in specs/*.net; do
        t0=$(date +%s%N)
        k=0
        while [ "$k" -lt 25 ]; do "$NETC" "$1" "$s" >/dev/null 2>&1; k=$((k + 1)); done
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 25000))
    done | sort -n | tail -n 1 | awk '{ printf "%.2f\n", $1 / 1000 }'
}
cms=$(compile_ms check) ems=$(compile_ms explain)
echo
echo "compile time, whole process (fork, exec, parse, check, lower; explain also prints the plan),"
echo "mean of 25 runs, slowest of specs/*.net: netc check ${cms} ms, netc explain ${ems} ms"

# --- CNNs: specs/lenet5.net and specs/fashion_cnn.net ------------------------
# One epoch of training at the specs' batch of 64, predict at batch $PB and
# batch-1 latency (the trained net as emitted C, as the MLP's above, against
# PyTorch's model(x)), against bench/torch_cnn.py (the same networks),
# one thread each, BENCH_CNN_RUNS alternating runs (default 3; 0 skips
# this part).  An epoch of fashion_cnn takes a minute or more, hence fewer
# runs than the MLP's.  A netc that cannot compile a CNN spec (the compiler
# before its convolutional layers) gets "failed" in its cells and a
# "netc: failed" line naming the row and its first error; nothing here ends
# the bench.
CNN_RUNS=${BENCH_CNN_RUNS:-3}
CD=$OUT/cnn
mkdir -p "$CD"
cnn_first_error() { # PREFIX: the first error line of a failed run's stderr
    { grep -m 1 'error' "$1.err" 2>/dev/null || head -n 1 "$1.err" 2>/dev/null; } | cut -c 1-160
}
# Results per net, as variables named c_<what>_<net> (eval: POSIX sh has no
# arrays).
cnn_set() { eval "c_$1_$2=\$3"; }
cnn_get() { eval "printf '%s' \"\${c_$1_$2:-}\""; }
cnn_rss_cell() { # NET: netc's peak RSS in MiB, or "failed"
    if [ "$(cnn_get nk "$1")" = failed ]; then echo failed; else mib "$(cnn_get nk "$1")"; fi
}
cnn_fail() { # NET WHAT PREFIX: note netc's failure for the row WHAT
    c_fail_lines="${c_fail_lines:-}netc: failed ($1 $2): $(cnn_first_error "$3")
"
}
c_fail_lines=
if [ "$CNN_RUNS" -gt 0 ]; then
    for net in lenet5 fashion_cnn; do
        spec=specs/$net.net
        n_tr= n_tr2= t_tr= n_k= t_k= n_pr= t_pr= nacc= tacc= n_ok=1 t_ok=1 t_pok=1
        i=1
        while [ "$i" -le "$CNN_RUNS" ]; do
            printf 'run %d/%d, %s: netc' "$i" "$CNN_RUNS" "$net" >&2
            if [ "$n_ok" = 1 ]; then
                if measure "$CD/netc.$net.$i" "$NETC" train "$spec" --data "$DATA" --epochs 1 --threads 1 \
                    --save "$CD/$net.safetensors"; then
                    n_tr="$n_tr $(train_rate "$CD/netc.$net.$i.err")"
                    read -r w k <"$CD/netc.$net.$i.res" || true
                    n_k="$n_k $k"
                    nacc=$(accuracy "$CD/netc.$net.$i.out")
                    printf ', netc 2 threads' >&2
                    if measure "$CD/netc2.$net.$i" "$NETC" train "$spec" --data "$DATA" --epochs 1 --threads 2; then
                        n_tr2="$n_tr2 $(train_rate "$CD/netc2.$net.$i.err")"
                    else
                        cnn_fail "$net" "training, 2 threads" "$CD/netc2.$net.$i"
                    fi
                    printf ', netc predict' >&2
                    if measure "$CD/netcp.$net.$i" "$NETC" predict "$spec" --weights "$CD/$net.safetensors" \
                        --data "$DATA" --batch "$PB" --threads 1 --output "$CD/netcp.$net.$i.csv"; then
                        n_pr="$n_pr $(predict_rate "$CD/netcp.$net.$i.err")"
                    else
                        cnn_fail "$net" predict "$CD/netcp.$net.$i"
                    fi
                else
                    # Later runs would fail the same way: skip them.
                    n_ok=0
                    printf ' (failed)' >&2
                    cnn_fail "$net" "training, and so predict" "$CD/netc.$net.$i"
                fi
            fi
            if [ -n "$PY" ] && [ "$t_ok" = 1 ]; then
                printf ', PyTorch' >&2
                if measure "$CD/torch.$net.$i" "$PY" bench/torch_cnn.py "$net" "$DATA" --epochs 1 --threads 1; then
                    t_tr="$t_tr $(train_rate "$CD/torch.$net.$i.err")"
                    read -r w k <"$CD/torch.$net.$i.res" || true
                    t_k="$t_k $k"
                    tacc=$(accuracy "$CD/torch.$net.$i.out")
                else
                    echo >&2
                    fail_run "PyTorch $net" "$CD/torch.$net.$i"
                    t_ok=0
                fi
            fi
            if [ -n "$PY" ] && [ "$t_pok" = 1 ]; then
                printf ', PyTorch predict' >&2
                # 1 warm-up and 3 timed calls: one call of fashion_cnn at
                # batch 10,000 takes seconds.
                if measure "$CD/torchp.$net.$i" "$PY" bench/torch_cnn.py "$net" "$DATA" --predict --batch "$PB" \
                    --warmup 1 --calls 3 --threads 1; then
                    t_pr="$t_pr $(predict_rate "$CD/torchp.$net.$i.err")"
                else
                    echo >&2
                    fail_run "PyTorch predict $net" "$CD/torchp.$net.$i"
                    t_pok=0
                fi
            fi
            echo >&2
            i=$((i + 1))
        done
        if [ "$n_ok" = 1 ]; then
            cnn_set ntr "$net" "$(median $n_tr)"
            if [ -n "$(echo $n_tr2)" ]; then cnn_set ntr2 "$net" "$(median $n_tr2)"; else cnn_set ntr2 "$net" failed; fi
            cnn_set nk "$net" "$(median $n_k)"
            cnn_set nacc "$net" "${nacc:--}"
            if [ -n "$(echo $n_pr)" ]; then cnn_set npr "$net" "$(median $n_pr)"; else cnn_set npr "$net" failed; fi
        else
            for what in ntr ntr2 nk nacc npr; do cnn_set "$what" "$net" failed; done
        fi
        cnn_set ttr "$net" "$(median $t_tr)"
        cnn_set tk "$net" "$(median $t_k)"
        cnn_set tpr "$net" "$(median $t_pr)"
        cnn_set tacc "$net" "${tacc:--}"
        # Batch-1: the net of the last training run as C, its weights (and
        # running statistics) embedded, in as many calls as PyTorch's below:
        # the portable loops (code that needs libm alone, as the MLP's row)
        # and --blas (the same OpenBLAS kernels as PyTorch's).
        el=failed elb=failed
        if [ "$n_ok" = 1 ]; then
            printf 'batch-1 latency, %s: emitted C' "$net" >&2
            el=$(emit_latency "$CD/emit_$net" "$spec" "$CD/$net.safetensors" 500)
            printf ', emitted C --blas' >&2
            elb=$(emit_latency "$CD/emit_blas_$net" "$spec" "$CD/$net.safetensors" 500 --blas)
            if [ -z "$el" ]; then
                el=failed
                c_fail_lines="${c_fail_lines}netc: failed ($net batch-1 emitted C): see $CD/emit_$net/
"
            fi
            if [ -z "$elb" ]; then
                elb=failed
                c_fail_lines="${c_fail_lines}netc: failed ($net batch-1 emitted C --blas): see $CD/emit_blas_$net/
"
            fi
            [ -z "$PY" ] || printf ', PyTorch' >&2
            echo >&2
        fi
        cnn_set nlat "$net" "$el"
        cnn_set nlatb "$net" "$elb"
        tl=-
        [ -z "$PY" ] || tl=$("$PY" bench/torch_cnn.py "$net" --latency 2>/dev/null | sed -n 's/^torch_us: //p')
        cnn_set tlat "$net" "${tl:--}"
    done

    # The GEMM limit of fashion_cnn: bench/sgemm_shapes.c at its conv-as-GEMM
    # and Linear shapes for one batch of 64.
    cgf= cfps= climit=-
    if [ -x "$OUT/sgemm_shapes" ] && "$OUT/sgemm_shapes" fashion_cnn >"$CD/sgemm_shapes.out" 2>&1; then
        cgf=$(sed -n 's/^sgemm_gflops: //p' "$CD/sgemm_shapes.out")
        cfps=$(sed -n 's/^flops_per_sample: //p' "$CD/sgemm_shapes.out")
        climit=$(awk -v g="$cgf" -v f="$cfps" 'BEGIN { if (g > 0 && f > 0) printf "%.0f\n", g * 1e9 / f; else print "-" }')
    fi
    pct_of() { awk -v r="$1" -v l="$2" 'BEGIN { if (r ~ /^[0-9.]+$/ && l ~ /^[0-9.]+$/ && l > 0) printf "%.0f%%\n", 100 * r / l; else print "-" }'; }

    echo
    echo "CNNs, 1 thread, medians of $CNN_RUNS runs: 1 epoch of training at batch 64 (samples/s as for the MLP),"
    echo "predict at batch $PB on the test images (netc predict; PyTorch model(x) in eval under no_grad,"
    echo "median of 3 calls after 1 warm-up), batch-1 predict: emitted C (*) against model(x), medians of"
    echo "21 rounds x 500 calls:"
    for net in lenet5 fashion_cnn; do
        row "$net" netc PyTorch netc/PyTorch
        row "  training samples/s" "$(cnn_get ntr $net)" "$(cnn_get ttr $net)" \
            "$(ratio "$(cnn_get ntr $net)" "$(cnn_get ttr $net)")"
        row "  training samples/s, 2 threads" "$(cnn_get ntr2 $net)" "" ""
        row "  peak RSS training, MiB" "$(cnn_rss_cell $net)" "$(mib "$(cnn_get tk $net)")" \
            "$(ratio "$(cnn_get nk $net)" "$(cnn_get tk $net)")"
        row "  predict samples/s" "$(cnn_get npr $net)" "$(cnn_get tpr $net)" \
            "$(ratio "$(cnn_get npr $net)" "$(cnn_get tpr $net)")"
        row "  test accuracy (last run)" "$(cnn_get nacc $net)" "$(cnn_get tacc $net)" ""
        row "  batch-1 predict, us (*)" "$(cnn_get nlat $net)" "$(cnn_get tlat $net)" \
            "$(ratio "$(cnn_get tlat $net)" "$(cnn_get nlat $net)")"
        row "    emitted with --blas (*)" "$(cnn_get nlatb $net)" "$(cnn_get tlat $net)" \
            "$(ratio "$(cnn_get tlat $net)" "$(cnn_get nlatb $net)")"
    done
    echo "(*) netc: the trained net written by netc emit with its weights embedded, portable loops or"
    echo "--blas (OpenBLAS core ${BLAS_CORE:-?}, as PyTorch's), ${CC:-cc} -O2 -march=native, timed by"
    echo "bench/emit_latency.c; the ratio is PyTorch/netc: above 1, the emitted code answers faster."
    printf '%s' "$c_fail_lines"
    echo "GEMM limit, fashion_cnn: OpenBLAS core ${BLAS_CORE:-?}, 1 thread, sgemm at its conv-as-GEMM and Linear shapes"
    echo "${cgf:--} GFLOP/s, ${cfps:--} flops per training sample: at most $climit samples/s;"
    echo "netc's 1-thread median is $(pct_of "$(cnn_get ntr fashion_cnn)" "$climit") of that, PyTorch's $(pct_of "$(cnn_get ttr fashion_cnn)" "$climit")."
fi

# --- summary ------------------------------------------------------------------
# The rows above in one table, with the targets of the speed issue.
echo
echo "summary ($CPU, $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?") cpus; GEMM kernels: OpenBLAS ${BLAS_CORE:-?}; medians of $RUNS runs):"
srow() { printf '%-34s %12s %12s %8s  %s\n' "$@"; }
srow "" netc PyTorch ratio target
srow "training samples/s, 1 thread" "$nr" "$tr" "$(ratio "$nr" "$tr")" ">= 2.5"
[ -z "$PY_INST" ] || srow "  PyTorch as installed ($INSTALLED_CORE)" "" "$tir" "$(ratio "$nr" "$tir")" ""
srow "training samples/s, 2 threads" "$n2r" "$t2r" "$(ratio "$n2r" "$t2r")" "> 1"
srow "  netc 2 threads / 1 thread" "" "" "$(ratio "$n2r" "$nr")" "> 1"
srow "predict samples/s, batch ${PB:-?}" "${npr:--}" "${tpr:--}" "$(ratio "${npr:--}" "${tpr:--}")" ">= 1.2"
[ -z "$PY_INST" ] || srow "  PyTorch as installed ($INSTALLED_CORE)" "" "${tipr:--}" "$(ratio "${npr:--}" "${tipr:--}")" ""
srow "  2 threads each" "${npr2:--}" "${tpr2:--}" "$(ratio "${npr2:--}" "${tpr2:--}")" "(no target)"
srow "batch-1 predict, us (emitted C)" "${eu:--}" "${tu:--}" "$(ratio "${tu:--}" "${eu:--}")" ">= 8 (PyTorch/netc)"
[ -z "${tue:-}" ] || srow "  PyTorch as installed ($INSTALLED_CORE)" "" "${tue}" "$(ratio "${tue}" "${eu:--}")" ""
srow "peak RSS training, MiB" "$(mib "$nk")" "$(mib "$tk")" "$(ratio "$nk" "$tk")" "netc <= 76 MiB (80 MB)"
srow "SGEMM at the model's shapes, GFLOP/s" "${gf:--}" "" "" "1 thread, OpenBLAS ${BLAS_CORE:-?}"
srow "float32 multiply-add peak, GFLOP/s" "$FMA_PEAK" "" "" "1 core (bench/fma_peak.c)"
srow "GEMM limit, samples/s" "${limit:--}" "" "" ""
srow "netc 1 thread / GEMM limit" "${pct:--}" "" "" ">= 80%"
srow "netc check / explain, ms" "$cms / $ems" "" "" "< 5"
if [ "$CNN_RUNS" -gt 0 ]; then
    # The convolution issue's targets: training 4x (LeNet-5) and 3x
    # (fashion_cnn) PyTorch and half the GEMM limit, two threads faster
    # than one, predict 4x, fashion_cnn's emitted batch-1 10x, 120 MB.
    for net in lenet5 fashion_cnn; do
        if [ "$net" = lenet5 ]; then tt=">= 4" lt="(no target; PyTorch/netc)"; else tt=">= 3" lt=">= 10 (PyTorch/netc)"; fi
        srow "$net training samples/s" "$(cnn_get ntr $net)" "$(cnn_get ttr $net)" \
            "$(ratio "$(cnn_get ntr $net)" "$(cnn_get ttr $net)")" "$tt"
        srow "  netc 2 threads / 1 thread" "" "" "$(ratio "$(cnn_get ntr2 $net)" "$(cnn_get ntr $net)")" "> 1"
        srow "$net predict samples/s" "$(cnn_get npr $net)" "$(cnn_get tpr $net)" \
            "$(ratio "$(cnn_get npr $net)" "$(cnn_get tpr $net)")" ">= 4"
        srow "$net batch-1 us, emitted C" "$(cnn_get nlat $net)" "$(cnn_get tlat $net)" \
            "$(ratio "$(cnn_get tlat $net)" "$(cnn_get nlat $net)")" "$lt"
        srow "  emitted with --blas" "$(cnn_get nlatb $net)" "$(cnn_get tlat $net)" \
            "$(ratio "$(cnn_get tlat $net)" "$(cnn_get nlatb $net)")" "$lt"
    done
    srow "fashion_cnn peak RSS training, MiB" "$(cnn_rss_cell fashion_cnn)" "$(mib "$(cnn_get tk fashion_cnn)")" \
        "$(ratio "$(cnn_get nk fashion_cnn)" "$(cnn_get tk fashion_cnn)")" "netc <= 114 MiB (120 MB)"
    srow "fashion_cnn GEMM limit, samples/s" "$climit" "" "" "netc $(pct_of "$(cnn_get ntr fashion_cnn)" "$climit"), >= 50%"
fi
