#!/bin/sh
# netc fmt, from make check: on every spec of specs/, tests/specs and
# tests/golden/parity the formatted text is a fixed point (formatting it
# again changes nothing) and means the same (the same `netc explain`
# plan, spec positions aside; for the specs with errors, the same
# messages); a spec that does not parse is left as it was; one untidy spec
# comes out exactly as written below; --check exits 1 and writes nothing.
#
# usage: sh tests/fmt.sh [NETC]   (from the project root)
set -u
. tests/harness.sh

# Positions (line:col) move when the layout changes; nothing else may.
unplace() { sed 's/[0-9][0-9]*:[0-9][0-9]*/L:C/g' "$1"; }

i=0
for s in specs/*.net tests/specs/good/*.net tests/specs/bad/*.net tests/golden/parity/*.net; do
    i=$((i + 1))
    f=$T/s$i.net
    cp "$s" "$f"
    if ! "$NETC" fmt "$f" >/dev/null 2>"$T/fmt.err"; then
        # A spec that does not parse: check's report, the file untouched.
        "$NETC" check "$s" >/dev/null 2>"$T/check.err"
        grep -q 'error: ' "$T/check.err" && ok || fail "fmt failed on $s, which checks: $(cat "$T/fmt.err")"
        cmp -s "$s" "$f" && ok || fail "fmt changed $s, which does not parse"
        sed "s|$f|$s|g" "$T/fmt.err" | cmp -s - "$T/check.err" && ok || fail "fmt's report on $s is not check's"
        continue
    fi
    # Formatting again would change nothing.
    "$NETC" fmt --check "$f" >"$T/out" 2>&1 && ok || fail "fmt is not idempotent on $s"
    # The diagnostics' messages (their positions and source lines aside) ...
    "$NETC" check "$s" 2>&1 | grep ': \(error\|warning\): ' | sed 's/^[^:]*:[0-9]*:[0-9]*: //' >"$T/a"
    "$NETC" check "$f" 2>&1 | grep ': \(error\|warning\): ' | sed 's/^[^:]*:[0-9]*:[0-9]*: //' >"$T/b"
    unplace "$T/a" >"$T/a2"; unplace "$T/b" >"$T/b2"
    cmp -s "$T/a2" "$T/b2" && ok || { fail "fmt changed the diagnostics of $s"; diff "$T/a2" "$T/b2" | head -5; }
    # ... and the plan of a spec that compiles.
    if "$NETC" explain "$s" >"$T/a" 2>/dev/null; then
        "$NETC" explain "$f" >"$T/b" 2>/dev/null
        unplace "$T/a" >"$T/a2"; unplace "$T/b" >"$T/b2"
        cmp -s "$T/a2" "$T/b2" && ok || { fail "fmt changed the plan of $s"; diff "$T/a2" "$T/b2" | head -5; }
    fi
done

# Every shipped spec is formatted.
"$NETC" fmt --check specs/*.net tests/specs/good/*.net >"$T/out" 2>&1 && ok || fail "not formatted: $(cat "$T/out")"

# One untidy spec, every rule of the layout.
cat >"$T/messy.net" <<'SPEC'
# header comment   


model   messy{   # trailing on model
  let  hidden=2*16   # size
  let shape = ( 1,8,8 )
 input shape
      layers Flatten( start_dim = 1 , end_dim=-1 )->Linear(64,hidden)
   -> ReLU   # act
   -> repeat 2 { Linear(hidden, hidden) ->  ReLU }
   -> repeat 1 {
   Linear(hidden,hidden)
   }
       # before the last layer
   -> Linear(hidden, 10, init=normal(std=-(-0.1)))


    loss CrossEntropy(label_smoothing=0.1)
  optimizer Adam(
      lr=0.001 - 0.0005*-1,
      betas=(0.9, 0.999)
  )
  train epochs = 2 batch = 16
  # at the end
}
# after
SPEC
cat >"$T/want.net" <<'SPEC'
# header comment

model messy {            # trailing on model
    let hidden = 2 * 16  # size
    let shape = (1, 8, 8)
    input shape
    layers Flatten(start_dim=1, end_dim=-1) -> Linear(64, hidden)
        -> ReLU  # act
        -> repeat 2 { Linear(hidden, hidden) -> ReLU }
        -> repeat 1 {
            Linear(hidden, hidden)
        }
        # before the last layer
        -> Linear(hidden, 10, init=normal(std=-(-0.1)))

    loss CrossEntropy(label_smoothing=0.1)
    optimizer Adam(
        lr=0.001 - 0.0005 * -1,
        betas=(0.9, 0.999)
    )
    train epochs=2 batch=16
    # at the end
}
# after
SPEC
cp "$T/messy.net" "$T/keep.net"
"$NETC" fmt --check "$T/messy.net" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && ok || fail "fmt --check passed an unformatted spec"
grep -qxF "$T/messy.net" "$T/out" && ok || fail "fmt --check did not name the file: $(cat "$T/out")"
cmp -s "$T/messy.net" "$T/keep.net" && ok || fail "fmt --check wrote the file"
chmod 640 "$T/messy.net"
"$NETC" fmt "$T/messy.net" >"$T/out" 2>"$T/err" && ok || fail "netc fmt messy: $(cat "$T/err")"
cmp -s "$T/messy.net" "$T/want.net" && ok || { fail "fmt's layout of the untidy spec"; diff "$T/want.net" "$T/messy.net"; }
[ "$(stat -c %a "$T/messy.net")" = 640 ] && ok || fail "fmt did not keep the file's permissions"
[ -z "$(ls "$T" | grep fmt-)" ] && ok || fail "fmt left a temporary file"
# The same spec with CRLF line ends gives the same layout.
sed 's/$/\r/' "$T/keep.net" >"$T/crlf.net"
"$NETC" fmt "$T/crlf.net" && cmp -s "$T/crlf.net" "$T/want.net" && ok || fail "fmt of a CRLF spec differs"

# Bad input: one clear error, nothing lost.
"$NETC" fmt "$T/none.net" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q "netc fmt: cannot read '$T/none.net'" "$T/err" && ok || fail "fmt of a missing file: $(cat "$T/err")"
printf 'model m {\n    input 4\n    layers ReLU ->\n}\n' >"$T/broken.net"
cp "$T/broken.net" "$T/broken.keep"
"$NETC" fmt "$T/broken.net" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -q "broken.net:4:1: error: " "$T/err" && ok || fail "fmt of a broken spec: $(cat "$T/err")"
cmp -s "$T/broken.net" "$T/broken.keep" && ok || fail "fmt changed a spec with a syntax error"
"$NETC" fmt >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && ok || fail "fmt without a file is not a usage error"

echo "fmt.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
