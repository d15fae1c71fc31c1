#!/usr/bin/env bash
# passdown report/plan against Coccinelle's spatch over fs/ + mm/ of Linux 6.1,
# x86_64 allmodconfig: one table, and the differences between the two use sets.
#   bench/vs_spatch.sh [--jobs N] [--scope mm fs] [--skip spatch|report|plan|lazy|changed ...]
# Needs root (or sudo) the first time: apt-get for the tree's packages and coccinelle.
# See bench/README.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$top/scripts/kernel-tree.sh")
build=${PASSDOWN_KERNEL_DIR:-/var/tmp/passdown-kernel}/build-6.1-allmodconfig
"$top/scripts/dev.sh" passdown prepare --tree "$tree" --build "$build" --config allmodconfig fs mm
exec "$top/scripts/dev.sh" python "$top/bench/vs_spatch.py" --tree "$tree" --build "$build" "$@"
