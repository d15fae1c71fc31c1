#!/usr/bin/env bash
# Time `passdown index` over fs/ + mm/ of Linux 6.1, x86_64 allmodconfig: cold, warm,
# after touching one .c file and one widely included header. Prints a table.
#   bench/index.sh [--jobs N]
# On a bigger machine pass --jobs (default: all cores). Needs root for apt-get the first time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$top/scripts/kernel-tree.sh")
build=${PASSDOWN_KERNEL_DIR:-/var/tmp/passdown-kernel}/build-6.1-allmodconfig
"$top/scripts/dev.sh" passdown prepare --tree "$tree" --build "$build" --config allmodconfig fs mm
exec "$top/scripts/dev.sh" python "$top/bench/index.py" --tree "$tree" --build "$build" "$@"
