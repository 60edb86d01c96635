#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: the checks a kernel maintainer runs on the driver.
#
#   1. checkpatch.pl --strict --no-tree -f on every driver file and the UAPI
#      header (checkpatch and its data files come from Debian's
#      linux-source-6.1, extracted into build/lint/scripts/);
#   2. make W=1 C=2 (sparse on every file) of the module against the
#      testbed's kernel headers (linux-headers-<KVER>, KVER as testbed.sh
#      resolves it, cached in build/testbed/kver);
#   3. the arm64 cross-build with W=1 and sparse (tools/arm64.sh; skip it with
#      LINT_ARM64=0);
#   4. kernel-doc on the driver and the UAPI header, and docutils on
#      Documentation/gpu/*.rst (the kernel-doc directive stubbed).
#
# Installs what it needs from Debian's registry by package name. Exits
# non-zero if any step fails or prints a warning. Logs: build/lint/*.log.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/build/lint
TESTBED_CACHE=$TOP/build/testbed
SRC_TAR=/usr/src/linux-source-6.1.tar.xz

DRIVER_FILES=$(cd "$TOP" && ls drivers/gpu/drm/xen/*.[ch] | grep -v '\.mod\.c$')
UAPI_HEADER=include/uapi/drm/xen_zcopy_drm.h

die() { echo "lint: error: $*" >&2; exit 2; }

mkdir -p "$OUT" "$TESTBED_CACHE"

ZC_APT_LOGDIR=$OUT
# shellcheck source=tools/lib/host.sh
. "$TOP/tools/lib/host.sh"



# checkpatch.pl reads spelling.txt and const_structs.checkpatch from its
# own directory.
extract_checkpatch() {
	local f missing=0
	for f in checkpatch.pl spelling.txt const_structs.checkpatch kernel-doc; do
		[ "$OUT/scripts/$f" -nt "$SRC_TAR" ] || missing=1
	done
	[ $missing -eq 0 ] && return 0
	echo "  extracting checkpatch.pl from $SRC_TAR"
	rm -rf "$OUT/scripts"
	mkdir -p "$OUT/scripts"
	tar -xJf "$SRC_TAR" -C "$OUT/scripts" --strip-components=2 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/scripts/kernel-doc
	touch "$OUT"/scripts/*
}

failed=0
result() {
	if [ "$2" = ok ]; then
		echo "[PASS] lint@$1"
	else
		echo "[FAIL] lint@$1"
		failed=$((failed + 1))
	fi
}

run_checkpatch() {
	local f log=$OUT/checkpatch.log status=ok
	: >"$log"
	cd "$TOP"
	for f in $DRIVER_FILES $UAPI_HEADER; do
		# Any ERROR, WARNING or CHECK makes checkpatch exit 1.
		if ! perl "$OUT/scripts/checkpatch.pl" --strict --no-tree --no-summary \
			--terse --show-types -f "$f" >>"$log" 2>&1; then
			status=fail
		fi
	done
	[ -s "$log" ] && { cat "$log"; status=fail; }
	result checkpatch "$status"
}

# W=1 and sparse build a private copy of the sources (same layout, so the
# Kbuild's relative include path holds), leaving the tree's objects alone.
run_build() {
	local kdir=/usr/src/linux-headers-$KVER copy=$OUT/src log=$OUT/build-w1-sparse.log
	local drv=$copy/drivers/gpu/drm/xen status=ok
	rm -rf "$copy"
	mkdir -p "$drv" "$copy/include/uapi/drm"
	cp "$TOP"/drivers/gpu/drm/xen/{Kbuild,*.c,*.h} "$drv/"
	cp "$TOP/$UAPI_HEADER" "$copy/include/uapi/drm/"
	if ! make -C "$kdir" M="$drv" W=1 C=2 CHECK=sparse modules >"$log" 2>&1; then
		status=fail
	fi
	# Compiler, sparse and modpost diagnostics; paths back to the tree's.
	if grep -E 'warning:|error:|WARNING:|ERROR:' "$log" |
		sed "s|$copy/||g" >"$OUT/build-w1-sparse.warnings"; then
		cat "$OUT/build-w1-sparse.warnings"
		status=fail
	fi
	[ "$status" = ok ] || tail -5 "$log"
	result "w1-sparse-$KVER" "$status"
}

run_arm64() {
	if bash "$TOP/tools/arm64.sh" W=1 C=2 CHECK=sparse >"$OUT/arm64.log" 2>&1; then
		result arm64-w1-sparse ok
	else
		tail -20 "$OUT/arm64.log"
		result arm64-w1-sparse fail
	fi
}

# kernel-doc comments must parse; the .rst files must be valid
# reStructuredText for Sphinx (kernel-doc directives are only stubbed).
run_docs() {
	local log=$OUT/docs.log status=ok
	cd "$TOP"
	if ! perl "$OUT/scripts/kernel-doc" -none $DRIVER_FILES $UAPI_HEADER >"$log" 2>&1 ||
		[ -s "$log" ]; then
		cat "$log"
		status=fail
	fi
	if ! /usr/bin/python3 - Documentation/gpu/*.rst >>"$log" 2>&1 <<'EOF'
import io
import sys

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives


class KernelDoc(Directive):
    required_arguments = 1
    option_spec = {"internal": directives.flag, "export": directives.flag,
                   "doc": directives.unchanged,
                   "functions": directives.unchanged}

    def run(self):
        return [nodes.paragraph(text="kernel-doc " + self.arguments[0])]


directives.register_directive("kernel-doc", KernelDoc)
bad = 0
for path in sys.argv[1:]:
    err = io.StringIO()
    with open(path) as f:
        publish_doctree(f.read(), source_path=path,
                        settings_overrides={"report_level": 2,
                                            "halt_level": 5,
                                            "warning_stream": err})
    sys.stdout.write(err.getvalue())
    bad += bool(err.getvalue())
sys.exit(1 if bad else 0)
EOF
	then
		tail -20 "$log"
		status=fail
	fi
	result docs "$status"
}

resolve_kernel
apt_install sparse perl python3-docutils xz-utils tar make gcc linux-source-6.1 "linux-headers-$KVER"
extract_checkpatch
echo "lint: kernel $KVER, sparse $(sparse --version 2>/dev/null || echo '?')"
run_checkpatch
run_build
run_docs
if [ "${LINT_ARM64:-1}" != 0 ] && [ -f "$TOP/tools/arm64.sh" ]; then
	run_arm64
fi

if [ $failed -ne 0 ]; then
	echo "lint: $failed check(s) failed (logs in build/lint/)"
	exit 1
fi
echo "lint: clean"
