// ONNX model and tensor files <-> graph IR. The only part of hyquant that sees onnx/protobuf types.
// Loading is safe on untrusted files: every failure is an hq::Error naming the file, and external
// data may only come from files inside the model's folder.
#pragma once
#include <string>

#include "core/tensor.h"
#include "graph/graph.h"

namespace hq::onnx_io {

struct LoadOptions {
    bool check = true;           // run onnx::checker on the loaded model
    bool lift_constants = true;  // Constant nodes -> initializers
};

// Loads `path` (with external data next to it). Throws hq::Error (exit 2) naming the file.
graph::Model load_model(const std::string& path, const LoadOptions& opt = {});
// Parses model bytes; external data resolves inside `dir` (empty: external data refused).
graph::Model parse_model(const std::string& bytes, const std::string& dir, const std::string& label,
                         const LoadOptions& opt = {});

// Full check (onnx::checker + strict shape inference with type checks); throws naming `label`.
void check_model(const graph::Model& m, const std::string& label);
// Writes the model atomically (checked first). Models over 2 GB get their weights in `<file>.data`.
void save_model(const graph::Model& m, const std::string& path);
// Serialized ModelProto bytes (weights inline); for fingerprints and tests.
std::string serialize_model(const graph::Model& m);

// Runs ONNX shape inference (non-strict) and stores the results in graph.value_info and the
// output value infos. Never throws for inference gaps; those values keep unknown shapes.
void infer_shapes(graph::Model& m);

// TensorProto files (.pb), as in ONNX's test-data layout.
Tensor read_tensor_pb(const std::string& path, std::string* name = nullptr);
void write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

// Domains hyquant accepts in a model's opset imports and nodes.
bool known_domain(const std::string& domain);

}  // namespace hq::onnx_io
