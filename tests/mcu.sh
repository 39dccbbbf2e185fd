#!/bin/sh
# The emitted C on Cortex-M, from make check: for each shipped spec, train
# briefly (one epoch on 128 digits, for weights that are not the init's),
# emit it with its weights, and build tests/mcu/driver.c against it with
# the same flags a firmware build uses (-std=gnu11 -O2):
#  - Cortex-M4F (hard float, FPv4-SP), at -O2 and -Os, run under
#    qemu-system-arm -M mps2-an386;
#  - Cortex-M0+ (ARMv6-M, soft float), run under -M mps2-an385: QEMU has
#    no MPS2 board with an M0+, and the M3 of AN385 executes every ARMv6-M
#    instruction as an M0+ does, so the M0+ build's code runs as built;
#  - the host, and the host with NETC_SMALL_CORE=1 (the loops the M cores
#    take).
# Each reads 20 test digits through semihosting and prints its outputs'
# bits.  The device outputs must equal the host's bit for bit, and all must
# lie within 1e-5 of `netc predict` (relative to the largest; netc sums with
# OpenBLAS, in another order).  Each device build reports flash, static
# RAM, the stack predict used (at most NAME_STACK_BYTES, or the driver
# fails) and instructions per inference, counted under -icount shift=0.
# Then examples/mcu/main.c is built and run as a firmware engineer would.
# Skipped, saying so, when arm-none-eabi-gcc or qemu-system-arm is missing
# (scripts/install-deps.sh installs them).
#
# usage: sh tests/mcu.sh [NETC]   (MCU_SPECS="spec ..." runs only those specs)
set -u
R=$(pwd)/tests/mcu
if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null; then
    echo "mcu.sh: skipped (no arm-none-eabi-gcc or qemu-system-arm; scripts/install-deps.sh installs them)"
    exit 0
fi
. tests/harness.sh
N=20

# The first N test digits as IDX bytes, and 128 training digits as CSV
# (label, then the pixels as netc's loader scales them).
gzip -dc data/mnist-10k/t10k-images-idx3-ubyte.gz | tail -c +17 | head -c $((784 * N)) >"$T/images.bin"
gzip -dc data/mnist-10k/train-labels-idx1-ubyte.gz | tail -c +9 | head -c 128 | od -An -v -tu1 |
    tr -s ' ' '\n' | sed '/^$/d' >"$T/labels.txt"
gzip -dc data/mnist-10k/train-images-idx3-ubyte.gz | tail -c +17 | head -c $((784 * 128)) | od -An -v -tu1 |
    tr -s ' ' '\n' | sed '/^$/d' |
    awk 'NR == FNR { l[NR] = $1; next } { i = int((FNR - 1) / 784); p = (FNR - 1) % 784;
         printf "%s%.9g", p ? "," : l[i + 1] ",", $1 / 255; if (p == 783) print "" }' "$T/labels.txt" - >"$T/train.csv"

for spec in ${MCU_SPECS:-mnist_mlp_default lenet5 fashion_cnn}; do
    name=$(sed -n 's/^model \([A-Za-z0-9_]*\).*/\1/p' specs/$spec.net)
    D="$T/$spec"
    mkdir -p "$D"
    "$NETC" train specs/$spec.net --data "$T/train.csv" --test-data "$T/train.csv" --epochs 1 \
        --save "$D/w.safetensors" >"$D/train.out" 2>&1 || { fail "$spec: netc train: $(tail -3 "$D/train.out")"; continue; }
    "$NETC" emit specs/$spec.net --weights "$D/w.safetensors" -o "$D" >"$D/emit.out" 2>&1 \
        || { fail "$spec: netc emit: $(cat "$D/emit.out")"; continue; }
    "$NETC" predict specs/$spec.net --weights "$D/w.safetensors" --data data/mnist-10k 2>/dev/null |
        head -n $N >"$D/netc.csv"
    cp "$T/images.bin" "$D/"
    # Multiply-adds per sample, from the plan: linear OUTxIN, conv
    # CINxHxW->COUTxHOxWO k=KHxKW (groups 1 in these specs).
    macs=$("$NETC" explain specs/$spec.net | sed -n '/-- forward/,/-- loss/p' | awk '
        $2 == "linear" { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+x[0-9]+$/) { split($i, d, "x"); m += d[1] * d[2] } }
        $2 == "conv" { for (i = 3; i <= NF; i++) { if ($i ~ /->/) { split($i, io, "->"); split(io[1], a, "x"); split(io[2], b, "x") }
                                                   if ($i ~ /^k=/) { split(substr($i, 3), k, "x") } }
                       m += b[1] * b[2] * b[3] * a[1] * k[1] * k[2] }
        END { print m + 0 }')
    src="$R/driver.c $D/$name.c"
    flags="-std=gnu11 -O2 -Wall -Werror -DMODEL=$name -include $D/$name.h -I$D"
    cc $flags -o "$D/host" $src -lm 2>"$D/cc.err" || { fail "$spec: host build: $(cat "$D/cc.err")"; continue; }
    (cd "$D" && ./host >host.out) || { fail "$spec: host run"; continue; }
    # The loops for small cores, built for the host: the same bits as the
    # host's own (they differ in nesting only, not in the sums).
    cc $flags -DNETC_SMALL_CORE=1 -o "$D/host_small" $src -lm 2>"$D/cc.err" \
        || { fail "$spec: host build with NETC_SMALL_CORE: $(cat "$D/cc.err")"; continue; }
    (cd "$D" && ./host_small >host_small.out) && cmp -s "$D/host.out" "$D/host_small.out" && ok \
        || fail "$spec: NETC_SMALL_CORE=1 changes the host's outputs: $(diff "$D/host.out" "$D/host_small.out" | head -4)"
    for core in m4f m4f-Os m0plus; do
        case $core in
            m4f) arch="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard" board=mps2-an386 ;;
            m4f-Os) arch="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -Os" board=mps2-an386 ;;
            m0plus) arch="-mcpu=cortex-m0plus -mfloat-abi=soft" board=mps2-an385 ;;
        esac
        # $arch comes after $flags' -O2: m4f-Os is the size-optimised build.
        arm-none-eabi-gcc -mthumb $flags $arch -o "$D/$core.elf" $src "$R/startup.c" -T "$R/link.ld" \
            -nostartfiles --specs=rdimon.specs -lm 2>"$D/cc.err" \
            || { fail "$spec: $core build: $(cat "$D/cc.err")"; continue; }
        # -icount shift=0: one instruction per nanosecond of virtual time,
        # which the driver reads with SysTick (tests/mcu/driver.c).
        (cd "$D" && timeout 600 qemu-system-arm -M $board -icount shift=0 -nographic -monitor none -serial none \
            -semihosting-config enable=on,target=native -kernel $core.elf >$core.out 2>$core.err) \
            || { fail "$spec: $core under QEMU $board: $(cat "$D/$core.err")"; continue; }
        # Flash is code and constants (.text, with the weights, and .data's
        # image); RAM the static data (.data, .bss: the driver's workspace,
        # buffers and newlib's), the stack and heap not counted.
        # The driver fails when predict's stack passes NAME_STACK_BYTES.
        insns=$(sed -n 's/^instructions per inference: //p' "$D/$core.err")
        stack=$(sed -n 's/^stack bytes: \([0-9]*\).*/\1/p' "$D/$core.err")
        arm-none-eabi-size "$D/$core.elf" | awk -v s=$spec -v c=$core -v i="${insns:-?}" -v m="$macs" -v k="${stack:-?}" \
            'NR == 2 { printf "mcu.sh: %s on %s: flash %d B, static RAM %d B, stack %s B, %s instructions per inference", s, c, $1 + $2, $2 + $3, k, i;
                       if (i ~ /^[0-9]+$/ && m > 0) printf " (%.2f per multiply-add)", i / m; print "" }'
        [ -n "$insns" ] && [ -n "$stack" ] && ok || fail "$spec: $core: no instruction count or stack: $(cat "$D/$core.err")"
        [ "$(wc -l <"$D/$core.out")" -eq $N ] && cmp -s "$D/host.out" "$D/$core.out" && ok \
            || fail "$spec: $core outputs differ from the host build's: $(diff "$D/host.out" "$D/$core.out" | head -4)"
    done
    sed 's/.*| //' "$D/host.out" | paste -d'\n' "$D/netc.csv" - |
        awk -F, 'NR % 2 == 1 { m = 0; for (i = 1; i <= NF; i++) { a[i] = $i; v = $i < 0 ? -$i : $i; if (v > m) m = v } n = NF; next }
                 { if (NF != n) bad = 1; for (i = 1; i <= NF; i++) { d = $i - a[i]; if (d < 0) d = -d; if (d > 1e-5 * m) bad = 1 } }
                 END { exit bad || NR != 2 * '$N' }' \
        && ok || fail "$spec: emitted outputs differ from netc predict by more than 1e-5"
done
# The bare-metal example, examples/mcu/main.c, as its comment builds it
# (--batch 1), with examples/embed/digit.pgm built in: it must print the
# class netc predict gives for the same pixels.
E="$T/example"
W="$T/mnist_mlp_default/w.safetensors"
mkdir -p "$E"
if [ -f "$W" ] && "$NETC" emit specs/mnist_mlp_default.net --weights "$W" --batch 1 -o "$E" >"$E/emit.out" 2>&1; then
    tail -c 784 examples/embed/digit.pgm | od -An -v -tu1 |
        awk 'BEGIN { print "static const unsigned char digit[784] = {" } { for (i = 1; i <= NF; i++) printf "%s,", $i; print "" }
             END { print "};" }' >"$E/digit.h"
    tail -c 784 examples/embed/digit.pgm | od -An -v -tu1 |
        awk '{ for (i = 1; i <= NF; i++) printf "%s%.9g", (n++ ? "," : ""), $i / 255 } END { print "" }' >"$E/digit.csv"
    want=$("$NETC" predict specs/mnist_mlp_default.net --weights "$W" --input "$E/digit.csv" 2>/dev/null |
        awk -F, '{ b = 1; for (i = 2; i <= NF; i++) if ($i > $b) b = i; print b - 1 }')
    arm-none-eabi-gcc -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb -std=gnu11 -O2 -Wall -Wextra -Werror \
        -I"$E" examples/mcu/main.c "$E/mnist_mlp_default.c" "$R/startup.c" -T "$R/link.ld" -nostartfiles \
        --specs=rdimon.specs -lm -o "$E/classify.elf" 2>"$E/cc.err" || fail "examples/mcu: build: $(cat "$E/cc.err")"
    got=$(cd "$E" && timeout 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel classify.elf | sed -n 's/^digit: //p')
    [ -n "$want" ] && [ "$got" = "$want" ] && ok || fail "examples/mcu says '$got', netc predict '$want'"
else
    fail "examples/mcu: no emitted model: $(cat "$E/emit.out" 2>/dev/null)"
fi
echo "mcu.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
