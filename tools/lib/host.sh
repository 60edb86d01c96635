# SPDX-License-Identifier: GPL-2.0
#
# Host helpers shared by tools/testbed/testbed.sh, tools/lint.sh and
# tools/arm64.sh: Debian packages by name, and the Dom0 kernel the testbed
# boots. Sourced, not run. The caller sets TOP and ZC_APT_LOGDIR (where
# apt's output goes) and defines die().

ZC_KVER_FILE=${ZC_KVER_FILE:-$TOP/build/testbed/kver}
# Another apt (a second run, unattended upgrades) may hold the lock a while.
APT_OPTS=(-q -o DPkg::Lock::Timeout=300)
apt_updated=

apt_update() {
	[ -n "$apt_updated" ] && return 0
	export DEBIAN_FRONTEND=noninteractive
	mkdir -p "$ZC_APT_LOGDIR"
	apt-get "${APT_OPTS[@]}" update >"$ZC_APT_LOGDIR/apt-update.log" 2>&1 ||
		{ tail "$ZC_APT_LOGDIR/apt-update.log"; die "apt-get update failed"; }
	apt_updated=1
}

# Installs the packages that are not installed yet, non-interactively.
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "  installing: ${missing[*]}"
	apt_update
	apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${missing[@]}" \
		>"$ZC_APT_LOGDIR/apt-install.log" 2>&1 ||
		{ tail -20 "$ZC_APT_LOGDIR/apt-install.log"; die "apt-get install ${missing[*]} failed"; }
}

# Lets apt see arm64 packages, for apt-get download: nothing arm64 is
# installed on the host.
apt_add_arm64() {
	dpkg --print-foreign-architectures | grep -x arm64 >/dev/null && return 0
	echo "  dpkg --add-architecture arm64"
	dpkg --add-architecture arm64
	apt_updated=
}

# KVER: the Dom0 kernel, the ABI that linux-image-amd64 points at today
# (image, headers and source must be the same Debian version). Cached in
# $ZC_KVER_FILE while its headers are installed.
resolve_kernel() {
	local img
	mkdir -p "$(dirname "$ZC_KVER_FILE")"
	if [ -f "$ZC_KVER_FILE" ] && [ -d "/usr/src/linux-headers-$(cat "$ZC_KVER_FILE")" ]; then
		KVER=$(cat "$ZC_KVER_FILE")
		return
	fi
	apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt_update
	img=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$img" ] || die "cannot resolve the kernel behind linux-image-amd64"
	KVER=${img#linux-image-}
	echo "$KVER" >"$ZC_KVER_FILE"
}
