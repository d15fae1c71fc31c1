#!/usr/bin/env bash
# Run the tests against a real Linux 6.1 tree (tests/kernel, deselected unless --kernel).
#
#   scripts/kernel-tests.sh [PYTEST ARGS...]
#
# Makes the 6.1 and 6.12 trees with scripts/kernel-tree.sh (idempotent), then runs
# `pytest tests/kernel --kernel -v` in the project venv (scripts/dev.sh).  The
# first run configures an allmodconfig build (~30 s) and keeps it for the next.
#
# Environment: PASSDOWN_KERNEL_DIR (scratch root, default /var/tmp/passdown-kernel),
# PASSDOWN_KERNEL_TREE, PASSDOWN_KERNEL_BUILD (see tests/kernel/conftest.py);
# PYTHON=/path/to/python runs with that interpreter and the checkout on
# PYTHONPATH instead of the project venv.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

tree=$("$top/scripts/kernel-tree.sh" ${PASSDOWN_KERNEL_TREE:+"$PASSDOWN_KERNEL_TREE"})
export PASSDOWN_KERNEL_TREE="$tree"
# Linux 6.12 for the 6.1-against-6.12 report (uses mode: ~2 min cold).
next=$(PASSDOWN_KERNEL_VERSION=6.12 "$top/scripts/kernel-tree.sh" ${PASSDOWN_KERNEL_TREE_NEXT:+"$PASSDOWN_KERNEL_TREE_NEXT"})
export PASSDOWN_KERNEL_TREE_NEXT="$next"

cd "$top"
if [ -n "${PYTHON:-}" ]; then
	export PYTHONPATH="$top${PYTHONPATH:+:$PYTHONPATH}"
	exec "$PYTHON" -m pytest tests/kernel --kernel -v "$@"
fi
exec "$top/scripts/dev.sh" python -m pytest tests/kernel --kernel -v "$@"
