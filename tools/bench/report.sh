#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Turns the benchmark's results (DIR/bench-ARCH.csv, one per architecture
# that ran, as tools/testbed/testbed.sh bench writes them) into DIR/bench.csv,
# the chart DIR/bench.png (gnuplot) and a console table, ratios first.
#
#   report.sh [DIR]      default build/bench
#
# Columns: arch,group,metric,x,first,median,min,max,reps,note. Times are
# microseconds of the guest's CLOCK_MONOTONIC; x is pages (setup), the
# mode's width (frame) or a target (scale). A "fit" row holds the slope
# (us per page) in first/median, the intercept in min and R^2 in max.

set -euo pipefail

DIR=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bench}
CSV=$DIR/bench.csv
shopt -s nullglob
parts=("$DIR"/bench-*.csv)
[ ${#parts[@]} -gt 0 ] || { echo "report: no $DIR/bench-*.csv" >&2; exit 1; }

echo "arch,group,metric,x,first,median,min,max,reps,note" >"$CSV"
cat "${parts[@]}" >>"$CSV"

# Ratios first: what the zero-copy path costs relative to the floor.
awk -F, '
NR == 1 { next }
{ key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4; med[key] = $6; first[key] = $5
  mn[key] = $7; mx[key] = $8; note[key] = $10
  if ($2 == "setup" && !seen[$1 SUBSEP $4]++) { sizes[$1] = sizes[$1] " " $4 }
  if ($2 == "domu" && !dseen[$1 SUBSEP $4]++) { dsizes[$1] = dsizes[$1] " " $4 }
  if ($2 == "frame" && $3 ~ /cpu/ && !fseen[$1 SUBSEP $4]++) { widths[$1] = widths[$1] " " $4 }
  if (!aseen[$1]++) archs[++na] = $1 }
function r(a, b) { return (a == "" || b == "" || b + 0 == 0 || a == "nan" || b == "nan") ? "   -  " : sprintf("%5.2fx", a / b) }
function v(k) { return (k in med) ? sprintf("%9.0f [%.0f..%.0f] first %.0f", med[k], mn[k], mx[k], first[k]) : "-" }
END {
  print "== Ratios (medians of one run; under TCG only ratios mean something) =="
  printf "%-6s %6s  %-28s %-22s %-22s\n", "arch", "pages", "FROM_REFS+export+import", "TO_REFS+import", "teardown+WAIT_FREE"
  printf "%-6s %6s  %-28s %-22s %-22s\n", "", "", "/ gntdev map+mmap+touch", "/ gntalloc alloc", "/ gntdev unmap"
  for (i = 1; i <= na; i++) {
    a = archs[i]; n = split(sizes[a], s, " ")
    for (j = 1; j <= n; j++) {
      p = a SUBSEP "setup" SUBSEP
      printf "%-6s %6s  %-28s %-22s %-22s\n", a, s[j],
        r(med[p "from_refs_export_import" SUBSEP s[j]], med[p "gntdev_map_mmap_touch" SUBSEP s[j]]),
        r(med[p "to_refs_import" SUBSEP s[j]], med[p "gntalloc_alloc" SUBSEP s[j]]),
        r(med[p "teardown_wait_free" SUBSEP s[j]], med[p "gntdev_unmap" SUBSEP s[j]])
    }
  }
  for (i = 1; i <= na; i++) {
    a = archs[i]; n = split(dsizes[a], s, " ")
    if (n && !dhead++) {
      print ""
      printf "%-6s %6s  %-28s %-22s  (a DomU'"'"'s grants)\n", "arch", "pages", "FROM_REFS+export+import", "teardown+WAIT_FREE"
      printf "%-6s %6s  %-28s %-22s\n", "", "", "/ gntdev map+mmap+touch", "/ gntdev unmap"
    }
    for (j = 1; j <= n; j++) {
      p = a SUBSEP "domu" SUBSEP
      printf "%-6s %6s  %-28s %-22s\n", a, s[j],
        r(med[p "from_refs_export_import" SUBSEP s[j]], med[p "gntdev_map_mmap_touch" SUBSEP s[j]]),
        r(med[p "teardown_wait_free" SUBSEP s[j]], med[p "gntdev_unmap" SUBSEP s[j]])
    }
  }
  print ""
  printf "%-6s %6s  %-22s %-14s %-14s %-14s %-14s\n", "arch", "width", "CPU/frame copy / zc", "zc us/frame", "copy us/frame", "zc flips/s", "copy flips/s"
  for (i = 1; i <= na; i++) {
    a = archs[i]; n = split(widths[a], w, " ")
    for (j = 1; j <= n; j++) {
      p = a SUBSEP "frame" SUBSEP
      zc = med[p "zero_copy_cpu_us_per_frame" SUBSEP w[j]]; cp = med[p "copy_cpu_us_per_frame" SUBSEP w[j]]
      printf "%-6s %6s  %-22s %-14.0f %-14.0f %-14.1f %-14.1f\n", a, w[j], r(cp, zc), zc, cp,
        med[p "zero_copy_fps" SUBSEP w[j]], med[p "copy_fps" SUBSEP w[j]]
    }
  }
  print ""
  print "== Setup, us: median [min..max] first =="
  for (i = 1; i <= na; i++) {
    a = archs[i]; n = split(sizes[a], s, " ")
    for (j = 1; j <= n; j++) {
      p = a SUBSEP "setup" SUBSEP
      split("from_refs_export_import gntdev_map_mmap_touch to_refs_import gntalloc_alloc teardown_wait_free gntdev_unmap", m, " ")
      for (k = 1; k <= 6; k++) {
        key = p m[k] SUBSEP s[j]
        printf "%-6s %6s %-26s %s%s\n", a, s[j], m[k], v(key), (note[key] != "ok" && key in note) ? "  " note[key] : ""
      }
    }
  }
  for (i = 1; i <= na; i++) {
    a = archs[i]; n = split(dsizes[a], s, " ")
    for (j = 1; j <= n; j++) {
      p = a SUBSEP "domu" SUBSEP
      split("from_refs_export_import gntdev_map_mmap_touch teardown_wait_free gntdev_unmap", m, " ")
      for (k = 1; k <= 4; k++) {
        key = p m[k] SUBSEP s[j]
        printf "%-6s %6s DomU %-21s %s%s\n", a, s[j], m[k], v(key), (note[key] != "ok" && key in note) ? "  " note[key] : ""
      }
    }
  }
  print ""
  print "== Scale =="
  for (key in med) {
    split(key, f, SUBSEP)
    if (f[2] == "first") printf "%-6s first grant map of the boot: %-24s %.0f us\n", f[1], f[3], med[key] == "nan" ? first[key] : first[key]
    if (f[2] == "fit") printf "%-6s fit %-26s %s\n", f[1], f[3], note[key]
    if (f[2] == "scale") printf "%-6s %-34s %s  (%s)\n", f[1], f[3], med[key], note[key]
    if (f[2] == "frame" && f[3] == "mode_missing") printf "%-6s width %s: %s\n", f[1], f[4], note[key]
  }
}' "$CSV"

# The chart: setup time against pages (log-log), CPU per flip against width.
command -v gnuplot >/dev/null || { echo "report: no gnuplot (apt package gnuplot-nox): no chart"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F, -v d="$tmp" 'NR > 1 && ($2 == "setup" || $2 == "domu" || $2 == "frame") && $6 != "nan" {
  f = d "/" $1 "-" ($2 == "domu" ? "domu-" : "") $3 ".dat"; print $4, $6, $7, $8 >> f }' "$CSV"
plots1= plots2=
for a in amd64 arm64; do
	for m in from_refs_export_import:zero-copy gntdev_map_mmap_touch:gntdev \
		domu-from_refs_export_import:zero-copy,DomU domu-gntdev_map_mmap_touch:gntdev,DomU; do
		f=$tmp/$a-${m%%:*}.dat
		[ -s "$f" ] && plots1+="${plots1:+, }'$f' using 1:2:3:4 with yerrorlines title '$a ${m#*:}'"
	done
	for m in zero_copy_cpu_us_per_frame:zero-copy copy_cpu_us_per_frame:copy; do
		f=$tmp/$a-${m%%:*}.dat
		[ -s "$f" ] && plots2+="${plots2:+, }'$f' using 1:2:3:4 with yerrorlines title '$a ${m#*:}'"
	done
done
[ -n "$plots1" ] || exit 0
gnuplot <<-GP
	set terminal pngcairo noenhanced size 1200,520 font ",10"
	set output "$DIR/bench.png"
	set multiplot layout 1,2 title "xen-zcopy benchmark (QEMU TCG + Xen 4.17, Debian 6.1 Dom0; median, min..max)"
	set logscale xy
	set key top left
	set grid
	set xlabel "pages"
	set ylabel "setup time, us"
	set title "FROM_REFS + PRIME export + vkms import vs gntdev map + mmap + touch"
	plot $plots1
	unset logscale
	set logscale y
	set xlabel "mode width (1280 = 720p, 1920 = 1080p, 3840 = 2160p)"
	set ylabel "backend CPU per flip, us"
	set title "Page flip on vkms: zero-copy vs memcpy from a gntdev mapping"
	$( [ -n "$plots2" ] && echo "plot $plots2" )
	unset multiplot
GP
echo "report: $CSV, $DIR/bench.png"
