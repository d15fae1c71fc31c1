#!/usr/bin/env bash
# Run a command inside the project's own virtualenv (.venv), creating it and
# installing passdown (editable, with the test and distributed extras) the first time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv="$top/.venv"
stamp="$venv/.passdown-installed"
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$top/pyproject.toml" -nt "$stamp" ]; then
	"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
	"$venv/bin/python" -m pip install -q -e "$top[test,distributed]"
	touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$top"
exec "$@"
