#!/usr/bin/env bash
# Builds the libFuzzer loader target with clang (ASan+UBSan) and runs it for a bounded time over a
# seed corpus of real and broken models. Usage: scripts/fuzz.sh [SECONDS] (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHYQUANT_FUZZ=ON >/dev/null
cmake --build "$build" --target fuzz_loader
corpus="$build/corpus"
rm -rf "$corpus" && mkdir -p "$corpus"
# Seeds: small real models from ONNX's node tests, the bundled model, and broken variants of them.
i=0
for m in /usr/share/libonnx-testdata/data/node/test_{conv,relu,add,reshape,gemm,batchnorm,concat,slice,constant,resize}*/model.onnx; do
    [ -f "$m" ] || continue
    cp "$m" "$corpus/seed_$i.onnx"
    head -c $(( $(stat -c %s "$m") / 2 )) "$m" > "$corpus/trunc_$i.onnx"
    i=$((i + 1))
    [ $i -ge 40 ] && break
done
head -c 4096 models/ppocr_mobile_v2_cls.onnx > "$corpus/ppocr_head.onnx"
printf 'not a model at all\n' > "$corpus/text.onnx"
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
"$build/fuzz_loader" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix="$build/" "$corpus" 2>&1 | tail -n 5
echo "fuzz: loader survived ${secs}s"
