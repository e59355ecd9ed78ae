#!/usr/bin/env python3
"""Writes ONNX's backend node tests (model.onnx + test_data_set_0/{input,output}_K.pb) from the test cases that the
installed `onnx` wheel carries as Python (onnx/backend/test/case/node), for the ops/opsets newer than Debian's
libonnx-testdata. The wheel (1.23) ships the case definitions but not the generated data.

Usage: build-venv/bin/python scripts/gen_node_tests.py OUTDIR [--max-opset 21]
Tests whose model imports an ai.onnx opset above --max-opset are left out (the executor claims up to 21), except the
opset-22 tests of the ops in LOWER_22 (a type-only change at 22), written with the import lowered to 21.
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
import onnx.backend.test.case.node as node_cases


# Ops whose opset-22 version differs from the one before only in its type constraints (bfloat16/float16 added):
# their opset-22 tests (the wheel has none at <= 21 for GridSample and RoiAlign-16) are written with the model's
# ai.onnx import lowered to 21 when --max-opset is 21.
LOWER_22 = {"GridSample", "RoiAlign"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--max-opset", type=int, default=21)
    a = ap.parse_args()
    tmp = a.outdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    written = skipped = lowered = 0
    for case in node_cases.collect_testcases():
        m = case.model
        opset = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)
        if opset == 22 and a.max_opset == 21 and {n.op_type for n in m.graph.node} <= LOWER_22:
            for o in m.opset_import:  # same semantics at 21: written with the import lowered
                if o.domain in ("", "ai.onnx"):
                    o.version = 21
            lowered += 1
        elif opset > a.max_opset:
            skipped += 1
            continue
        d = os.path.join(tmp, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(m.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(ds)
            for kind, values, infos in (("input", inputs, m.graph.input), ("output", outputs, m.graph.output)):
                for j, v in enumerate(values):
                    t = infos[j].type
                    if t.HasField("sequence_type"):
                        p = numpy_helper.from_list(v, infos[j].name)
                    elif t.HasField("optional_type"):
                        p = numpy_helper.from_optional(v, infos[j].name)
                    elif t.HasField("map_type"):
                        p = numpy_helper.from_dict(v, infos[j].name)
                    elif isinstance(v, TensorProto):
                        p = v
                    else:
                        p = numpy_helper.from_array(np.asarray(v), infos[j].name)
                    with open(os.path.join(ds, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(p.SerializeToString())
        written += 1
    shutil.rmtree(a.outdir, ignore_errors=True)
    os.rename(tmp, a.outdir)
    print(f"onnx {onnx.__version__}: wrote {written} node tests to {a.outdir} ({lowered} of them opset 22 lowered to "
          f"21, {skipped} above opset {a.max_opset})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
