#!/bin/sh
# Install the Debian packages netc needs to build and test, when missing.
# Run as root to install; as another user it only says what is missing.
set -eu
pkgs="gcc clang make flex bison libopenblas-dev check pkg-config zlib1g-dev openmpi-bin libopenmpi-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
    echo "netc needs these packages:$missing" >&2
    echo "install them with: sudo apt-get install$missing" >&2
    exit 1
fi
