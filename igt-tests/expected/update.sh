#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Rewrites the manifests (expected/ARCH.txt) from what the built binaries
# list: every bin@subtest, in test-list.txt order, keeping the skip notes
# of lines that still exist; new subtests are expected to run, gone ones
# are dropped. Run by "make -C igt-tests manifest"; review the diff.
#
#   update.sh TESTDIR MANIFEST...

set -eu
dir=$1
shift
list=$(mktemp)
trap 'rm -f "$list"' EXIT

for bin in $(sed -n '/^TESTLIST$/,/^END TESTLIST$/p' "$dir/test-list.txt" | sed '1d;$d'); do
	names=$("$dir/$bin" --list-subtests) ||
		{ echo "update.sh: $bin --list-subtests failed" >&2; exit 1; }
	printf '%s\n' "$names" | sed "s/^/$bin@/"
done >"$list"

for m in "$@"; do
	[ -f "$m" ] || : >"$m"
	awk 'NR == FNR { if ($1 !~ /^#/ && NF > 1) note[$1] = $0; next }
	     FNR == 1 { while ((getline l < ARGV[1]) > 0) if (l ~ /^#/) print l }
	     { print ($1 in note) ? note[$1] : $1 }' "$m" "$list" >"$m.new"
	mv "$m.new" "$m"
done
