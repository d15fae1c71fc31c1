#!/usr/bin/env bash
# Make (idempotently) a real Linux tree the kernel tests run against: 6.1, or
# the version in PASSDOWN_KERNEL_VERSION (6.12 for the 6.1-against-6.12 report).
#
#   scripts/kernel-tree.sh [DEST]
#
# DEST defaults to ${PASSDOWN_KERNEL_DIR:-/var/tmp/passdown-kernel}/linux-source-<version>.
# Steps, each skipped when already done:
#   1. install the Debian packages linux-source-<version> flex bison bc libelf-dev libssl-dev;
#   2. unpack /usr/src/linux-source-<version>.tar.xz into DEST;
#   3. make DEST a git repository with one commit (passdown's "apply" creates
#      branches in it), after removing the Debian block of the top .gitignore that
#      ignores everything at top level.
# Prints the tree path on stdout (progress goes to stderr).
set -euo pipefail

version=${PASSDOWN_KERNEL_VERSION:-6.1}
base=${PASSDOWN_KERNEL_DIR:-/var/tmp/passdown-kernel}
dest=${1:-$base/linux-source-$version}
tarball=/usr/src/linux-source-$version.tar.xz
packages=(linux-source-$version flex bison bc libelf-dev libssl-dev)

say() { printf 'kernel-tree: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# 1. Debian packages.
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "missing packages ${missing[*]}: run as root or install them: apt-get install ${missing[*]}"
		sudo=(sudo)
	fi
	say "installing ${missing[*]}"
	"${sudo[@]}" apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}" >&2
fi
[ -f "$tarball" ] || die "$tarball not found although linux-source-$version is installed"

# 2. Unpack (into a temporary sibling, renamed at the end, so an interrupted run
#    never leaves a half tree that looks complete).
if [ ! -f "$dest/Makefile" ] || [ ! -d "$dest/arch/x86" ]; then
	[ ! -e "$dest" ] || [ -z "$(ls -A "$dest" 2>/dev/null)" ] ||
		die "$dest exists but is not a kernel tree: remove it or pass another DEST"
	parent=$(dirname "$dest")
	mkdir -p "$parent"
	tmp=$(mktemp -d "$parent/.unpack.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	say "unpacking $tarball into $dest"
	tar -C "$tmp" -xJf "$tarball"
	top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	[ -n "$top" ] && [ -f "$top/Makefile" ] || die "$tarball has no kernel tree at its top"
	rmdir "$dest" 2>/dev/null || true
	mv "$top" "$dest"
	rm -rf "$tmp"
	trap - EXIT
fi

# 3. Git repository with one commit.
if ! git -C "$dest" rev-parse --verify -q HEAD >/dev/null 2>&1 ||
	[ "$(git -C "$dest" rev-parse --show-toplevel 2>/dev/null)" != "$(cd "$dest" && pwd -P)" ]; then
	say "making $dest a git repository"
	# Debian appends a block that ignores everything at top level ("#",
	# "# Debian packaging: ignore everything ...", ..., "/*", "!/debian/"); drop it
	# to the end of the file, with the lone "#" line that opens it.
	if grep -q '^# Debian packaging' "$dest/.gitignore" 2>/dev/null; then
		awk '/^# Debian packaging/ { if (held != "" && held != "x#") print substr(held, 2); held = ""; exit }
		     { if (held != "") print substr(held, 2); held = "x" $0 }
		     END { if (held != "") print substr(held, 2) }' \
			"$dest/.gitignore" >"$dest/.gitignore.passdown"
		mv "$dest/.gitignore.passdown" "$dest/.gitignore"
	fi
	git -C "$dest" init -q -b master
	git -C "$dest" config user.name "passdown kernel tests"
	git -C "$dest" config user.email "passdown@localhost"
	git -C "$dest" config gc.auto 0
	git -C "$dest" add -A -f
	git -C "$dest" commit -q -m "Linux $version (Debian linux-source-$version)"
fi

echo "$dest"
