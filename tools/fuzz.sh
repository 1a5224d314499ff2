#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ (clang, ASan + UBSan, in
# build-fuzz/) and runs each for a fixed time over a copy of its seed corpus
# (tests/fuzz/corpus/<name>/, with tests/fuzz/<name>.dict when there is one).
#
#   bash tools/fuzz.sh                      # every harness, 60 s each
#   bash tools/fuzz.sh --seconds 480        # longer
#   bash tools/fuzz.sh --seconds 30 gossip  # only the named harnesses
#
# Prints one line per harness: result, runs, coverage (cov:), features
# (ft:), corpus size at the end (seeds + what the run added) and the time.
# Exits 1 if any harness crashed (a sanitizer report, a failed property, a
# timeout or running out of memory); the input that did it is kept and its
# path printed (build-fuzz/fuzz-out/<name>/crash-...). Work files (the grown
# corpus, logs) are in build-fuzz/fuzz-out/<name>/; tests/fuzz/corpus is
# never written. One harness at a time, so the wall time is about
# harnesses x seconds plus the build.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
case "$seconds" in
  ''|*[!0-9]*|0) echo "fuzz.sh: --seconds wants a positive number" >&2; exit 2 ;;
esac
if [ ${#names[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cc; do
    n=$(basename "$f" _fuzz.cc)
    names+=("$n")
  done
fi

bash tools/install-deps.sh >/dev/null
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DPBCHAIN_FUZZ=ON \
  -DPBCHAIN_BUILD_TESTS=OFF -DPBCHAIN_BUILD_BENCHMARKS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for n in "${names[@]}"; do targets+=("${n}_fuzz"); done
cmake --build build-fuzz -j2 --target "${targets[@]}"

# Per-input limits: a run above them is a finding like a crash.
per_input_timeout=25  # seconds
rss_limit_mb=2048
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for n in "${names[@]}"; do
  out=build-fuzz/fuzz-out/$n
  rm -rf "$out"
  mkdir -p "$out/corpus"
  if [ -d "tests/fuzz/corpus/$n" ]; then cp -r "tests/fuzz/corpus/$n/." "$out/corpus/"; fi
  seeds=$(find "$out/corpus" -type f | wc -l)
  args=(-max_total_time="$seconds" -timeout="$per_input_timeout"
        -rss_limit_mb="$rss_limit_mb" -print_final_stats=1
        -artifact_prefix="$out/")
  if [ -f "tests/fuzz/$n.dict" ]; then args+=(-dict="tests/fuzz/$n.dict"); fi
  start=$(date +%s)
  rc=0
  "build-fuzz/bin/${n}_fuzz" "${args[@]}" "$out/corpus" >"$out/log" 2>&1 || rc=$?
  took=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$out/log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$out/corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="CRASH (exit $rc)"
    failed=1
  fi
  echo "fuzz: $n: $result runs=${runs:-?} cov=${cov:-?} ft=${ft:-?}" \
       "corpus=$corpus (seeds $seeds) seconds=$took"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR: |FUZZ_CHECK|runtime error|SUMMARY' "$out/log" | head -5 | sed 's/^/  /'
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out/log" | tail -1)
    echo "  input: ${artifact:-none written} (log: $out/log)"
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: a harness failed; reproduce with build-fuzz/bin/<name>_fuzz <input>"
  exit 1
fi
echo "fuzz.sh: ok (${#names[@]} harnesses, $seconds s each)"
