#!/bin/sh
# run.sh BUILDDIR: build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang and ASan+UBSan in
# BUILDDIR/fuzz, configured as BUILDDIR was, and run each for FUZZ_SECONDS (10) seconds on its seed corpus
# (tests/fuzz/corpus/NAME, read only) and a working corpus in BUILDDIR/fuzz/corpus/NAME. Exits non-zero
# when a target crashes, leaks, trips UBSan or a FUZZ_ASSERT, or times out; its input is then in
# BUILDDIR/fuzz/crashes/. FUZZ_ONLY="proxy psk" runs only those; FUZZ_CC picks the compiler (clang-14).
set -eu
builddir=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-10}
cc=${FUZZ_CC:-clang-14}
dir=$builddir/fuzz

if [ ! -f "$dir/Makefile" ]; then
	eval "set -- $("$builddir/config.status" --config)"
	mkdir -p "$dir"
	(cd "$dir" && "$src/configure" -q "$@" CC="$cc" \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all")
fi
make -s -C "$dir" -j"$(nproc)" fuzz-targets
names=${FUZZ_ONLY:-$(sed -n 's/^FUZZ_NAMES = //p' "$dir/Makefile")}

# the longest input worth trying: beyond it a parser only sees more of the same (or a limit it refuses)
max_len() {
	case $1 in
	proxy) echo 70000 ;; # a v2 header declares up to 65535 bytes of addresses and TLVs
	config | psk) echo 8192 ;;
	starttls) echo 10000 ;;
	*) echo 4096 ;;
	esac
}

failed=
mkdir -p "$dir/crashes"
printf '%-10s %10s %6s %6s %5s  %s\n' target runs cov ft secs result >"$dir/stats.txt"
for n in $names; do
	mkdir -p "$dir/corpus/$n"
	dict=
	[ -f "$src/tests/fuzz/dict/$n.dict" ] && dict="-dict=$src/tests/fuzz/dict/$n.dict"
	log=$dir/$n.log
	start=$(date +%s)
	result=ok
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$dir/tests/fuzz/fuzz_$n" -max_total_time="$seconds" -timeout=10 -max_len="$(max_len "$n")" $dict \
		-print_final_stats=1 -artifact_prefix="$dir/crashes/$n-" "$dir/corpus/$n" "$src/tests/fuzz/corpus/$n" \
		>"$log" 2>&1 || result=FAILED
	secs=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	printf '%-10s %10s %6s %6s %5s  %s\n' "$n" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$secs" "$result" >>"$dir/stats.txt"
	if [ "$result" != ok ]; then
		failed="$failed $n"
		echo "---- fuzz_$n failed ($log):" >&2
		pat='^==[0-9]+==ERROR|runtime error|fuzz assertion|ERROR: libFuzzer'
		if grep -qE "$pat" "$log"; then grep -E -A40 "$pat" "$log" | head -n 60 >&2; else tail -n 20 "$log" >&2; fi
	fi
done
cat "$dir/stats.txt"
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed (inputs in $dir/crashes/)" >&2
	exit 1
fi
