#!/bin/sh
# Install the Debian packages netc needs to build and test, when missing.
# Run as root to install; as another user it only says what is missing.
set -eu
# gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm: tests/mcu.sh
# builds the emitted C for Cortex-M and runs it under QEMU.  protobuf-c-compiler
# and libprotobuf-c-dev: netc export and import (ONNX); nodejs and npm:
# tests/onnx.sh runs the exported models under npm's onnxruntime-node.
pkgs="gcc clang make flex bison libopenblas-dev check pkg-config zlib1g-dev openmpi-bin libopenmpi-dev
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm protobuf-c-compiler libprotobuf-c-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm by command: a machine may have them from elsewhere than Debian.
command -v node >/dev/null || missing="$missing nodejs"
command -v npm >/dev/null || missing="$missing npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
    else
        echo "netc needs these packages:$missing" >&2
        echo "install them with: sudo apt-get install$missing" >&2
        exit 1
    fi
fi
# ONNX Runtime for tests/onnx.sh, into the test tree (not committed).
# --ignore-scripts: the package carries its CPU library, and its install
# script would try to download a GPU build.
cd "$(dirname "$0")/../tests/onnx"
[ -d node_modules/onnxruntime-node ] || npm install --ignore-scripts --no-audit --no-fund onnxruntime-node
