#!/usr/bin/env bash
# bench/crypto.sh: what mbedTLS's primitives cost on this machine, called the way its TLS stack calls them
# (bench/crypto.c says which API each row goes through and why). A benchmark, not a test: it fails only when it
# cannot build or measure.
#
#   bash bench/crypto.sh               full run (about a minute): 0.5 s per measurement, best of 3 rounds, and
#                                      `openssl speed` beside it
#   bash bench/crypto.sh --quick       smoke run (about 10 s): 0.1 s per measurement, best of 2, no openssl
#   bash bench/crypto.sh -t S -r N     S seconds per measurement, N rounds (a round measures every row once;
#                                      the best round is reported, the worst beside it)
#   bash bench/crypto.sh --no-openssl  without the `openssl speed` column
#   bash bench/crypto.sh FILTER        only the rows whose name contains FILTER (X25519, GCM, RSA ...)
#
# mbedTLS is found as ./quickstart finds it: MBEDTLS_PREFIX if set, else pkg-config mbedtls >= 3.6, else
# .deps/mbedtls of this tree or, in a git worktree, of the main worktree. The binary is bench/out/crypto; the
# table goes to stdout and, as Markdown, to bench/out/crypto.md, the raw rows (bench/crypto.c's output, then
# the openssl figures as "openssl NAME VALUE") to bench/out/crypto.tsv (bench/out is git-ignored).
set -u -o pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
SECS=0.5 ROUNDS=3 OPENSSL=1 FILTER='' MODE=full
while [ $# -gt 0 ]; do
	case $1 in
	--quick) SECS=0.1 ROUNDS=2 OPENSSL=0 MODE=quick ;;
	--no-openssl) OPENSSL=0 ;;
	-t) SECS=${2:?-t needs seconds}; shift ;;
	-r) ROUNDS=${2:?-r needs a count}; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "crypto.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	*) FILTER=$1 ;;
	esac
	shift
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
OUT=$TOP/bench/out
T=$(mktemp -d /tmp/tlswrap-crypto.XXXXXX)
trap 'rm -rf "$T"' EXIT

# ---------------------------------------------------------------- mbedTLS, as configure --with-mbedtls takes it

# mbed_from_prefix DIR: sets MBED_CFLAGS, MBED_LIBS and MBED_FROM from mbedTLS unpacked under DIR (DIR or DIR/usr)
mbed_from_prefix() {
	local root=$1 d libdir=
	[ -d "$root/usr/include/mbedtls" ] && root=$root/usr
	[ -f "$root/include/mbedtls/build_info.h" ] || return 1
	for d in "$root"/lib/*-linux-gnu "$root/lib64" "$root/lib"; do
		if [ -z "$libdir" ] && ls "$d"/libmbedtls.so* >/dev/null 2>&1; then libdir=$d; fi
	done
	[ -n "$libdir" ] || return 1
	MBED_CFLAGS="-I$root/include"
	# DT_RPATH, not RUNPATH: libmbedtls.so's own dependencies must be found there too
	MBED_LIBS="-L$libdir -Wl,--disable-new-dtags -Wl,-rpath,$libdir -lmbedtls -lmbedx509 -lmbedcrypto"
	MBED_FROM=$1
}

find_mbedtls() {
	local common
	if [ -n "${MBEDTLS_PREFIX:-}" ]; then
		mbed_from_prefix "$MBEDTLS_PREFIX" && return 0
		echo "crypto.sh: MBEDTLS_PREFIX=$MBEDTLS_PREFIX holds no mbedTLS headers and libmbedtls.so" >&2
		return 1
	fi
	if pkg-config --atleast-version=3.6 mbedtls 2>/dev/null; then
		MBED_CFLAGS=$(pkg-config --cflags mbedtls mbedx509 mbedcrypto)
		MBED_LIBS=$(pkg-config --libs mbedtls mbedx509 mbedcrypto)
		MBED_FROM="pkg-config ($(pkg-config --modversion mbedtls))"
		return 0
	fi
	mbed_from_prefix "$TOP/.deps/mbedtls" && return 0
	common=$(git -C "$TOP" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
		mbed_from_prefix "$(dirname "$common")/.deps/mbedtls" && return 0
	echo "crypto.sh: no mbedTLS >= 3.6: run ./quickstart deps, or set MBEDTLS_PREFIX" >&2
	return 1
}

find_mbedtls || exit 2
mkdir -p "$OUT"
# shellcheck disable=SC2086
if ! ${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $MBED_CFLAGS "$HERE/crypto.c" \
	-o "$OUT/crypto" $MBED_LIBS -lm; then
	echo "crypto.sh: cannot build bench/crypto.c against mbedTLS from $MBED_FROM" >&2
	exit 2
fi

# ---------------------------------------------------------------- measure

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E -x 'aes|pclmulqdq|avx2|bmi2|adx|sha_ni' |
	tr '\n' ' ' | sed 's/ $//')
MACHINE="$(nproc) cores, $CPU (${FLAGS:-no AES-NI}), $(. /etc/os-release && echo "$PRETTY_NAME")"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%F %H:%M UTC')
COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)

echo "# measuring: ${SECS}s per measurement, best of $ROUNDS rounds${FILTER:+, rows matching \"$FILTER\"}" >&2
"$OUT/crypto" -t "$SECS" -r "$ROUNDS" ${FILTER:+"$FILTER"} >"$T/mbed.tsv" || {
	echo "crypto.sh: bench/out/crypto failed" >&2
	exit 1
}

# openssl speed, in the rows' names: AEAD as TLS-like records (-aead) of 16384 bytes; ECDH is the derivation
# only (compare with the "agree only" rows); rsa2048 signs with PKCS#1 v1.5.
: >"$T/ossl.tsv"
OPENSSL_VER=
if [ "$OPENSSL" = 1 ] && command -v openssl >/dev/null; then
	OPENSSL_VER=$(openssl version)
	echo "# openssl speed ($OPENSSL_VER)" >&2
	for c in aes-128-gcm aes-256-gcm chacha20-poly1305; do
		openssl speed -mr -aead -seconds 1 -bytes 16384 -evp "$c" 2>/dev/null |
			awk -F: '/^\+F:/ { printf "%s seal 16 KiB\t%.3f\n", $3, $4 / 1e6 }'
	done >>"$T/ossl.tsv"
	openssl speed -mr -seconds 1 ecdhx25519 ecdhp256 ecdhp384 ecdhx448 ecdsap256 rsa2048 2>/dev/null | awk -F: '
		/^\+F5:/ { n = ($3 == 253) ? "X25519" : ($3 == 448) ? "X448" : "secp" $3 "r1"
			   printf "%s agree only\t%.3f\n", n, $4 }
		/^\+F4:/ && $3 == 256 { printf "ECDSA P-256 sign\t%.3f\nECDSA P-256 verify\t%.3f\n", $4, $5 }
		/^\+F2:/ && $3 == 2048 { printf "RSA-2048 PKCS#1 v1.5 sign\t%.3f\nRSA-2048 PKCS#1 v1.5 verify\t%.3f\n", $4, $5 }
	' >>"$T/ossl.tsv"
fi
LOAD="$LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# ---------------------------------------------------------------- report

info() { awk -F'\t' -v k="$1" '$1 == "info" && $2 == k { print $3 }' "$T/mbed.tsv"; }
MBEDTLS_VER=$(info mbedtls)
USE_PSA=$(info use_psa_crypto)

# table FORMAT: the rows, as text (FORMAT=text) or Markdown (FORMAT=md). "each" is the time of one operation,
# or of one 16 KiB record for MB/s rows; spread is (best - worst) / best over the rounds; "CPU-s" is the best
# round's rate per second of the benchmark thread's CPU time (close to "best" unless other processes preempt it).
table() {
	awk -F'\t' -v fmt="$1" '
		FILENAME == ARGV[1] { ossl[$1] = $2; next }
		function each(unit, best) {
			if (best <= 0) return "-"
			if (unit == "MB/s") return sprintf("%.1f us/rec", 16384 / best)
			return sprintf("%.3f ms", 1000 / best)
		}
		function num(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x) }
		BEGIN {
			if (fmt == "md") {
				print "| measurement | unit | best | worst | spread | each (best) | best per CPU-s | openssl |" \
					" openssl/mbedTLS | API |"
				print "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
			} else {
				printf "%-40s %-5s %7s %7s %6s %12s %7s %8s %6s\n", "measurement", "unit", "best", "worst", \
					"spread", "each (best)", "CPU-s", "openssl", "ratio"
			}
		}
		$1 == "row" {
			name = $3; api = $4; unit = $5; best = $6; worst = $7; cpu = $8
			spread = best > 0 ? sprintf("%.1f%%", (best - worst) * 100 / best) : "-"
			o = (name in ossl) ? num(ossl[name]) : "-"
			r = (name in ossl && best > 0) ? sprintf("%.1fx", ossl[name] / best) : "-"
			if ($2 != section && fmt == "text" && section != "") print ""
			section = $2
			if (fmt == "md")
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | `%s` |\n", name, unit, num(best), \
					num(worst), spread, each(unit, best), num(cpu), o, r, api
			else
				printf "%-40s %-5s %7s %7s %6s %12s %7s %8s %6s\n", name, unit, num(best), num(worst), \
					spread, each(unit, best), num(cpu), o, r
		}
	' "$T/ossl.tsv" "$T/mbed.tsv"
}

echo
echo "mbedTLS primitives ($MODE run), $DATE, commit $COMMIT"
echo "  $MBEDTLS_VER from $MBED_FROM (USE_PSA_CRYPTO $USE_PSA)${OPENSSL_VER:+; openssl column: $OPENSSL_VER}"
echo "  $MACHINE; load average $LOAD"
echo "  ${SECS}s per measurement, best of $ROUNDS rounds (each round measures every row once); MB = 10^6 bytes of record payload"
echo
table text
awk -F'\t' '$1 == "info" && $2 == "skipped" { print "skipped: " $3 }' "$T/mbed.tsv"

{
	cat "$T/mbed.tsv"
	sed 's/^/openssl\t/' "$T/ossl.tsv"
} >"$OUT/crypto.tsv"
MD=$OUT/crypto.md
{
	echo "# mbedTLS primitives: bench/crypto.sh ($MODE run)"
	echo
	echo "- date: $DATE; commit: $COMMIT"
	echo "- mbedTLS: $MBEDTLS_VER from $MBED_FROM; MBEDTLS_USE_PSA_CRYPTO $USE_PSA"
	echo "- machine: $MACHINE; load average $LOAD"
	echo "- method: $ROUNDS rounds; a round runs each row for ${SECS}s in turn, timed with CLOCK_MONOTONIC, so a" \
		"row's rounds are spread over the whole run; best and worst round; \"best per CPU-s\": the best round by" \
		"the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which preemption does not lower; MB = 10^6 bytes of" \
		"record payload (16384 per record, sealed with its content-type byte)"
	[ -n "$OPENSSL_VER" ] && echo "- openssl: $OPENSSL_VER, \`openssl speed -seconds 1\` (AEAD: \`-aead -evp\`," \
		"16384-byte records; ECDH: derivation only, so it compares with the \"agree only\" rows; rsa2048: PKCS#1 v1.5)"
	echo
	table md
	awk -F'\t' '$1 == "info" && $2 == "skipped" { print "\nSkipped: " $3 }' "$T/mbed.tsv"
} >"$MD"
echo
echo "(Markdown: $MD)"
