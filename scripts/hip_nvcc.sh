#!/usr/bin/env bash
# Compiles the HIP backend's sources with nvcc through HIP's NVIDIA headers (hip/nvidia_detail) to object
# files: every lib/exec/hip/*.hip kernel file, then (best effort, reported) the host adapter files and the
# backend test program. A portability check: the kernels must not depend on AMD-only features unguarded.
#
#   scripts/hip_nvcc.sh [-arch sm_90] [-o OUTDIR] [--nvcc PATH] [--hip-include DIR] [--kernels-only]
#
# HIP 5.2's nvidia_detail headers (Debian 12's libamdhip64-dev) predate CUDA 12/13: they wrap runtime calls
# and cudaDeviceProp fields CUDA has since removed or changed (cudaMemAdvise/cudaMemPrefetchAsync signatures,
# clockRate/memoryClockRate/computeMode/kernelExecTimeoutEnabled/cooperativeMultiDeviceLaunch, texture
# references, cudaLaunchCooperativeKernelMultiDevice, cuCtxCreate, graph edge data, stream capture _v2...).
# Those inline wrappers are compiled in every translation unit, so this script builds a patched copy of
# nvidia_hip_runtime_api.h in OUTDIR/hip-nvidia-compat: it compiles a probe that includes hip_runtime.h and
# compiles out (#if 0) each wrapper function nvcc rejects, repeating until the probe compiles, and lists
# them. hyquant uses none of them. With a CUDA the headers support, nothing is patched.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=sm_90
OUT="$ROOT/build-nvcc"
NVCC=${NVCC:-}
HIP_INC=""
KERNELS_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        -arch|--arch) ARCH="$2"; shift 2 ;;
        -arch=*|--arch=*) ARCH="${1#*=}"; shift ;;
        -o) OUT="$2"; shift 2 ;;
        --nvcc) NVCC="$2"; shift 2 ;;
        --hip-include) HIP_INC="$2"; shift 2 ;;
        --kernels-only) KERNELS_ONLY=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "hip_nvcc.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$NVCC" ]; then
    NVCC=$(command -v nvcc || true)
    [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
fi
[ -n "$NVCC" ] && [ -x "$NVCC" ] || { echo "hip_nvcc.sh: nvcc not found (PATH, /usr/local/cuda/bin; or --nvcc PATH)" >&2; exit 2; }
if [ -z "$HIP_INC" ]; then
    for d in "${HIP_PATH:-}/include" "${ROCM_PATH:-}/include" /opt/rocm/include /usr/include; do
        if [ -f "$d/hip/nvidia_detail/nvidia_hip_runtime_api.h" ]; then HIP_INC="$d"; break; fi
    done
fi
[ -n "$HIP_INC" ] && [ -f "$HIP_INC/hip/nvidia_detail/nvidia_hip_runtime_api.h" ] ||
    { echo "hip_nvcc.sh: HIP's NVIDIA headers not found (apt-get install libamdhip64-dev; or --hip-include DIR)" >&2; exit 2; }

CUDA_VERSION=$("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
echo "hip_nvcc.sh: $NVCC (CUDA $CUDA_VERSION), -arch=$ARCH, HIP headers $HIP_INC, objects in $OUT"
mkdir -p "$OUT"
COMPAT="$OUT/hip-nvidia-compat"
rm -rf "$COMPAT"
mkdir -p "$COMPAT/hip/nvidia_detail"

# ------------------------------------------------------------------ patched nvidia_hip_runtime_api.h
/usr/bin/python3 - "$NVCC" "$ARCH" "$HIP_INC" "$COMPAT" <<'PY'
import os, re, subprocess, sys

nvcc, arch, hip_inc, compat = sys.argv[1:5]
src = os.path.join(hip_inc, "hip/nvidia_detail/nvidia_hip_runtime_api.h")
dst = os.path.join(compat, "hip/nvidia_detail/nvidia_hip_runtime_api.h")
lines = open(src, encoding="utf-8").read().split("\n")
probe = os.path.join(compat, "probe.cu")
with open(probe, "w") as f:
    f.write("#include <hip/hip_runtime.h>\n#include <hip/hip_fp16.h>\n"
            "__global__ void hq_probe(float* x) { x[threadIdx.x] = (float)warpSize; }\n")

def write():
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))

def function_span(line):
    """[start, end] (0-based) of the top-level function definition containing `line`."""
    s = line
    while s >= 0 and not re.match(r"(inline|static|__HIP_DEPRECATED|template|hipError_t|__host__|[A-Za-z_]\w*\s+[A-Za-z_]\w*\s*\()", lines[s]):
        s -= 1
    if s < 0:
        return None
    while s > 0 and lines[s - 1].startswith("template"):
        s -= 1
    if lines[s].startswith("template") and s + 1 < len(lines) and lines[s + 1].startswith("template"):
        pass
    depth, opened = 0, False
    for e in range(s, len(lines)):
        code = re.sub(r"//.*", "", lines[e])
        for ch in code:
            if ch == "{":
                depth += 1
                opened = True
            elif ch == "}":
                depth -= 1
        if opened and depth == 0:
            return (s, e) if s <= line <= e else None
    return None

removed = []
for attempt in range(200):
    write()
    r = subprocess.run([nvcc, "-x", "cu", "-std=c++17", "-arch=" + arch, "-D__HIP_PLATFORM_NVIDIA__", "-I" + compat,
                        "-I" + hip_inc, "-c", probe, "-o", os.path.join(compat, "probe.o")],
                       capture_output=True, text=True)
    if r.returncode == 0:
        break
    errs = [int(m.group(1)) - 1 for m in re.finditer(r"nvidia_hip_runtime_api\.h\((\d+)\): error", r.stdout + r.stderr)]
    if not errs:
        sys.exit("hip_nvcc.sh: the probe fails outside nvidia_hip_runtime_api.h:\n" + r.stdout + r.stderr)
    spans = sorted({function_span(e) for e in errs} - {None}, reverse=True)
    if not spans:
        sys.exit("hip_nvcc.sh: cannot attribute errors at lines %s to a function:\n%s" % (errs, r.stdout + r.stderr))
    for s, e in spans:
        m = re.search(r"\b(hip\w+)\s*\(", " ".join(lines[s:s + 3]))
        removed.append(m.group(1) if m else "line %d" % (s + 1))
        lines[e] = lines[e] + "\n#endif  // hyquant scripts/hip_nvcc.sh"
        lines[s] = "#if 0  // hyquant scripts/hip_nvcc.sh: does not compile with this CUDA\n" + lines[s]
        lines[:] = "\n".join(lines).split("\n")
else:
    sys.exit("hip_nvcc.sh: gave up patching nvidia_hip_runtime_api.h")
if removed:
    names = sorted(set(removed))
    print("hip_nvcc.sh: compiled out %d HIP wrappers that do not compile with this CUDA: %s" % (len(names), ", ".join(names)))
else:
    print("hip_nvcc.sh: HIP's NVIDIA headers compile with this CUDA as they are")
PY

FLAGS=(-x cu -arch="$ARCH" -D__HIP_PLATFORM_NVIDIA__ -DHQ_SOURCE_DIR="\"$ROOT\"" -I"$COMPAT" -I"$HIP_INC" -I"$ROOT/lib" -I"$ROOT" -O2)
fail=0
compile() {  # compile STD FILE
    local std=$1 f=$2 o="$OUT/$(basename "${2%.*}").o"
    if "$NVCC" "${FLAGS[@]}" -std="$std" -c "$f" -o "$o"; then
        echo "  ok    ${f#$ROOT/} -> ${o#$ROOT/}"
        return 0
    fi
    echo "  FAIL  ${f#$ROOT/}"
    return 1
}

echo "kernels (lib/exec/hip/*.hip):"
for f in "$ROOT"/lib/exec/hip/*.hip; do compile c++17 "$f" || fail=1; done
if [ "$KERNELS_ONLY" = 0 ]; then
    echo "host adapter (lib/exec/hip/*.cpp) and the test program (tests/hip/*.cpp), as CUDA host code:"
    for f in "$ROOT"/lib/exec/hip/*.cpp "$ROOT"/tests/hip/*.cpp; do compile c++20 "$f" || fail=1; done
fi
if [ "$fail" != 0 ]; then
    echo "hip_nvcc.sh: FAILED" >&2
    exit 1
fi
echo "hip_nvcc.sh: all sources compiled for $ARCH"
