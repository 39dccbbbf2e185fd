#!/bin/sh
# make install / uninstall, from make check: a staged install (DESTDIR,
# PREFIX=/usr) holds the package's tree; an install into a prefix that is
# then moved away (so that no path of the source tree or of the prefix can
# be baked in) checks, builds and runs a `netc build` program from the
# installed library and headers alone, with the bits of the netc that
# built it; uninstall removes every file.  Also: the man page names every
# command and option, the bash completion completes them, and the editor
# files and netc.net(5) are what editors/gen_syntax writes from today's
# catalog.
#
# usage: sh tests/install.sh [NETC]   (from the project root; $MAKE: make)
set -u
. tests/harness.sh
MAKE=${MAKE:-make}
SRC=$(pwd)

# --- a staged install for a package -----------------------------------------
$MAKE -s install DESTDIR="$T/stage" PREFIX=/usr >"$T/make.out" 2>&1 && ok || fail "make install DESTDIR: $(cat "$T/make.out")"
for f in bin/netc lib/netc/libnetc.a include/netc/compiler/cli.h include/netc/runtime/net.h \
         include/netc/grammar/parser.h include/netc/compiler/ops.def share/netc/specs/lenet5.net \
         share/man/man1/netc.1 share/man/man5/netc.net.5 share/bash-completion/completions/netc \
         share/vim/vimfiles/syntax/netc.vim share/netc/editors/netc.tmLanguage.json; do
    [ -f "$T/stage/usr/$f" ] && ok || fail "make install DESTDIR=... PREFIX=/usr did not stage usr/$f"
done
[ -x "$T/stage/usr/bin/netc" ] && ok || fail "staged netc is not executable"
"$T/stage/usr/bin/netc" check "$T/stage/usr/share/netc/specs/"*.net >"$T/out" 2>&1 && ok || fail "staged netc check: $(cat "$T/out")"
$MAKE -s uninstall DESTDIR="$T/stage" PREFIX=/usr >"$T/make.out" 2>&1 && ok || fail "make uninstall: $(cat "$T/make.out")"
left=$(find "$T/stage" -type f | head -3)
[ -z "$left" ] && ok || fail "make uninstall left files: $left"

# --- an install that works with the source tree out of reach ---------------
$MAKE -s install PREFIX="$T/prefix" >"$T/make.out" 2>&1 && ok || fail "make install PREFIX: $(cat "$T/make.out")"
mv "$T/prefix" "$T/moved"
P=$T/moved
mkdir "$T/work"
cp specs/mnist_softmax.net "$T/work/"
cp -r data/mnist-10k "$T/work/data" 2>/dev/null || mkdir -p "$T/work/data"
sed -i 's|"data/mnist-10k"|"data"|' "$T/work/mnist_softmax.net"
cd "$T/work"
expect_ok() { "$@" >"$T/out" 2>"$T/err" && ok || { fail "'$*' failed"; sed 's/^/    /' "$T/err" | head -5; }; }
expect_ok env -u NETC_HOME "$P/bin/netc" build mnist_softmax.net -o "$T/work/softmax"
[ -x "$T/work/softmax" ] && ok || fail "the installed netc built no program"
expect_ok "$T/work/softmax" train --epochs 1 --save "$T/work/built.safetensors"
grep -v '^Saved' "$T/out" >"$T/built.txt"
expect_ok "$NETC" train mnist_softmax.net --epochs 1 --save "$T/work/netc.safetensors"
grep -v '^Saved' "$T/out" >"$T/netc.txt"
grep -q '^Epoch: 0001 cost' "$T/built.txt" && cmp -s "$T/built.txt" "$T/netc.txt" && ok ||
    fail "the installed netc's program printed other epoch lines than netc train"
cmp -s "$T/work/built.safetensors" "$T/work/netc.safetensors" && ok ||
    fail "the installed netc's program saved another checkpoint than netc train"
# Without the library under the prefix, build says where it looked.
rm "$P/lib/netc/libnetc.a"
env -u NETC_HOME "$P/bin/netc" build mnist_softmax.net -o "$T/work/x" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && grep -qF "$P/lib/netc/libnetc.a ('make install')" "$T/err" && ok ||
    fail "netc build without its library: $(cat "$T/err")"
cd "$SRC"

# --- the man page documents every command and option ----------------------
for page in man/netc.1 man/netc.net.5; do
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warn" ] && ok || fail "groff warns about $page: $warn"
done
man -l man/netc.1 2>/dev/null | col -b >"$T/man.txt"
cmds=$("$NETC" --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p')
[ -n "$cmds" ] && ok || fail "netc --help lists no commands"
for c in $cmds; do
    grep -q "^       $c " "$T/man.txt" && ok || fail "netc(1) does not describe the command '$c'"
    for opt in $("$NETC" "$c" --help | sed -n '/^usage:/,/^$/p' | grep -o -- '\(--[a-z-]*\|-o\)' | sort -u); do
        grep -q -- "^       $opt" "$T/man.txt" && ok || fail "netc(1) has no entry for '$c' option '$opt'"
    done
done

# --- bash completion --------------------------------------------------------
complete_words() { # LINE... : what completion offers for the last word
    bash -c '. completion/netc.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _netc; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$@"
}
[ "$(complete_words "$NETC" tr)" = train ] && ok || fail "completion of 'netc tr': $(complete_words "$NETC" tr)"
complete_words "$NETC" fm | grep -qx fmt && ok || fail "completion does not offer fmt"
[ "$(complete_words "$NETC" train x --sa)" = --save ] && ok || fail "completion of 'netc train x --sa'"
complete_words "$NETC" check specs/lenet | grep -qx specs/lenet5.net && ok || fail "completion of a spec file"
complete_words "$NETC" build x -o | grep -q . ; ok

# --- the generated files are up to date -------------------------------------
gen=build/editors/gen_syntax
if [ -x "$gen" ]; then
    "$gen" "$T/netc.vim" "$T/netc.json" man/netc.net.5.in "$T/netc.net.5" && ok || fail "$gen failed"
    cmp -s "$T/netc.vim" editors/vim/syntax/netc.vim && ok || fail "editors/vim/syntax/netc.vim is stale: run make syntax"
    cmp -s "$T/netc.json" editors/textmate/netc.tmLanguage.json && ok ||
        fail "editors/textmate/netc.tmLanguage.json is stale: run make syntax"
    cmp -s "$T/netc.net.5" man/netc.net.5 && ok || fail "man/netc.net.5 is stale: run make syntax"
else
    fail "$gen is not built (make check builds it)"
fi
for w in Conv2d CrossEntropy AdamW kaiming_uniform StepLR grad_norm calculate_gain; do
    grep -q "\\b$w\\b" editors/vim/syntax/netc.vim && grep -q "|$w|\\|($w|\\||$w)\\|($w)" editors/textmate/netc.tmLanguage.json &&
        ok || fail "the editor files lack '$w'"
done

echo "install.sh: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
