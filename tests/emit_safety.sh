#!/bin/sh
# What `netc emit` and `netc build` write cannot be subverted, and a
# failure leaves no file behind: a spec in a directory named like C code
# gives C that compiles and means what netc wrote; a model named like one
# of netc's kernels is refused by check; emit writes nothing when it fails.
#
# usage: sh tests/emit_safety.sh [NETC]
set -u
. tests/harness.sh

spec() { # FILE NAME: a small valid spec with model NAME
    cat >"$1" <<SPEC
model $2 {
    input 4
    layers Linear(4, 8) -> ReLU -> Linear(8, 2)
    loss CrossEntropy
    optimizer SGD(lr=0.1)
    train epochs=1 batch=4 seed=1
}
SPEC
}

# --- paths that look like C stay inside comments --------------------------
evil="$T/x*/ int injected = ; /*"
mkdir -p "$evil" "$T/out"
spec "$evil/m.net" m
"$NETC" emit "$evil/m.net" --train -o "$T/out" >"$T/emit.out" 2>&1 && ok || fail "emit: $(cat "$T/emit.out")"
grep -qF 'x\x2A/ int injected = ; /\x2A' "$T/out/m.h" && ok || fail "m.h does not show the escaped path"
for cc in gcc clang; do
    command -v $cc >/dev/null || { fail "$cc is not installed"; continue; }
    $cc -std=c99 -Wall -Wextra -pedantic -Werror -c "$T/out/m.c" -I"$T/out" -o "$T/m_$cc.o" 2>"$T/cc.err" \
        && ok || fail "$cc: emitted C does not compile: $(head -5 "$T/cc.err")"
done
"$NETC" build "$evil/m.net" -o "$T/prog" >"$T/build.out" 2>&1 && ok || fail "build: $(cat "$T/build.out")"
"$T/prog" explain >"$T/explain.out" 2>&1 && ok || fail "built program: $(cat "$T/explain.out")"
grep -qF 'plan for model m' "$T/explain.out" && ok || fail "built program does not explain its plan"

# --- a model named like the emitter's or the kernels' symbols ---------------
for name in rt_linear rt_softmax_forward comp_geom NETC_NOINLINE; do
    spec "$T/n.net" "$name"
    "$NETC" check "$T/n.net" >"$T/check.out" 2>&1 && fail "check accepts the model name $name" || ok
    grep -qF "model name '$name' is reserved" "$T/check.out" && ok || fail "check on $name: $(cat "$T/check.out")"
done
# Once a collision (conv_act_forward is a kernel; netc_forward is now the
# emitter's): the name is fine and the C compiles.
spec "$T/conv_act.net" conv_act
"$NETC" emit "$T/conv_act.net" --train -o "$T/out" >"$T/emit.out" 2>&1 && ok || fail "emit conv_act: $(cat "$T/emit.out")"
gcc -std=c99 -Wall -Wextra -pedantic -Werror -c "$T/out/conv_act.c" -I"$T/out" -o "$T/conv_act.o" 2>"$T/cc.err" \
    && ok || fail "conv_act.c does not compile: $(head -5 "$T/cc.err")"

# --- a failed emit writes nothing --------------------------------------------
mkdir "$T/empty"
grep -v '^    train ' "$T/conv_act.net" >"$T/empty.net"
"$NETC" emit "$T/empty.net" --train -o "$T/empty" >"$T/emit.out" 2>&1 \
    && fail "emit --train without a train statement succeeded" || ok
[ -z "$(ls -A "$T/empty")" ] && ok || fail "a failed emit left $(ls "$T/empty")"
# ... and leaves the files of an earlier emit as they were.
cp "$T/out/conv_act.h" "$T/out/conv_act.c" "$T/empty/"
"$NETC" emit "$T/empty.net" --train -o "$T/empty" >"$T/emit.out" 2>&1 && fail "emit --train succeeded" || ok
cmp -s "$T/out/conv_act.h" "$T/empty/conv_act.h" && cmp -s "$T/out/conv_act.c" "$T/empty/conv_act.c" \
    && ok || fail "a failed emit changed the files of an earlier one"
rm "$T/empty/conv_act.h" "$T/empty/conv_act.c"
spec "$T/long.net" mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm
"$NETC" emit "$T/long.net" -o "$T/empty" >"$T/emit.out" 2>&1 && fail "emit of a 64-character name succeeded" || ok
grep -qF "long.net:1:7: error: model name has 64 characters; at most 63 are allowed" "$T/emit.out" \
    && ok || fail "emit of a long name: $(cat "$T/emit.out")"
[ -z "$(ls -A "$T/empty")" ] && ok || fail "a refused emit left $(ls "$T/empty")"
"$NETC" emit "$T/conv_act.net" -o "$T/missing/dir" >"$T/emit.out" 2>&1 && fail "emit into a missing directory" || ok
grep -qF "$T/missing/dir/conv_act.h: cannot create a temporary file beside it: No such file or directory" "$T/emit.out" && ok || fail "emit, missing dir: $(cat "$T/emit.out")"

echo "emit_safety.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
