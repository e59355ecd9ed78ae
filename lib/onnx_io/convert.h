// Internal to lib/onnx_io: conversions between protobuf messages and the graph IR.
#pragma once
#include <onnx/onnx_pb.h>

#include <string>

#include "graph/graph.h"

namespace hq::onnx_io::detail {

// Where external tensor data may be read from; empty dir refuses external data.
struct ExternalDataRoot {
    std::string dir;
    std::string label;  // model file, for messages
};

// `what` names the tensor in errors ("tensor '<name>'" when empty).
Tensor tensor_from_proto(const onnx::TensorProto& p, const ExternalDataRoot& root, const std::string& what = "");
// ONNX's name of a TensorProto data type ("FLOAT8E4M3FN"), also for the types hyquant does not support.
std::string onnx_type_name(int32_t t);
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p);
// `release` (the same message as `p`): each top-level initializer's raw data is freed in it once converted.
graph::Model model_from_proto(const onnx::ModelProto& p, const ExternalDataRoot& root,
                              onnx::ModelProto* release = nullptr);
// `stub_file` set (an absolute path to an existing file): large initializers (64 KiB and up) carry dtype and dims
// only, as external data in that file, for the checker and shape inference, which never read them; the model's
// weights are then neither copied nor paged in. Such a proto is not a model to write.
void model_to_proto(const graph::Model& m, onnx::ModelProto* p, const std::string& stub_file = "");
void read_value_infos(const onnx::GraphProto& gp, graph::Graph& g);

}  // namespace hq::onnx_io::detail
