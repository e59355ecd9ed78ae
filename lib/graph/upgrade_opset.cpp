// ai.onnx opset upgrade. Each operator's schema history (the opsets where its definition changed) is listed
// below, every change marked as one of
//   b  benign: new types, new attributes/inputs whose defaults keep the old meaning, negative axes, docs;
//   h  handled: the node is rewritten by the op's handler below so the meaning stays the same;
//   (none) not handled: upgrading across it is an hq::Error naming the node and both opsets.
// Histories come from onnx.defs (ONNX 1.12, up to opset 17) and the ONNX changelog for opsets 18-21.
#include "graph/upgrade_opset.h"

#include <algorithm>
#include <cfloat>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/half.h"

namespace hq::graph {

namespace {

// op -> "since[mark] ..." ; the first entry is the op's first version.
const std::map<std::string, std::string>& histories() {
    static const std::map<std::string, std::string> h = {
        {"Abs", "1 6b 13b"}, {"Acos", "7"}, {"Acosh", "9"}, {"Add", "1 6b 7h 13b 14b"}, {"AffineGrid", "20"},
        {"And", "1 7h"}, {"ArgMax", "1 11b 12b 13b"}, {"ArgMin", "1 11b 12b 13b"}, {"Asin", "7"}, {"Asinh", "9"},
        {"Atan", "7"}, {"Atanh", "9"}, {"AveragePool", "1 7b 10b 11b 19b"},
        {"BatchNormalization", "1 6h 7h 9h 14h 15b"}, {"Bernoulli", "15"}, {"BitShift", "11"},
        {"BitwiseAnd", "18"}, {"BitwiseNot", "18"}, {"BitwiseOr", "18"}, {"BitwiseXor", "18"},
        {"BlackmanWindow", "17"}, {"Cast", "1 6h 9b 13b 19b 21b"}, {"CastLike", "15 19b 21b"}, {"Ceil", "1 6b 13b"},
        {"Celu", "12"}, {"CenterCropPad", "18"}, {"Clip", "1 6b 11h 12b 13b"}, {"Col2Im", "18"},
        {"Compress", "9 11b"}, {"Concat", "1 4h 11b 13b"}, {"ConcatFromSequence", "11"},
        {"Constant", "1 9b 11b 12b 13b 19b 21b"}, {"ConstantOfShape", "9 20b 21b"}, {"Conv", "1 11b"},
        {"ConvInteger", "10"}, {"ConvTranspose", "1 11b"}, {"Cos", "7"}, {"Cosh", "9"}, {"CumSum", "11 14b"},
        {"DFT", "17 20"}, {"DeformConv", "19"}, {"DepthToSpace", "1 11b 13b"},
        {"DequantizeLinear", "10 13b 19b 21b"}, {"Det", "11"}, {"Div", "1 6b 7h 13b 14b"},
        {"Dropout", "1 6h 7h 10h 12h 13b"}, {"DynamicQuantizeLinear", "11"}, {"Einsum", "12"}, {"Elu", "1 6b"},
        {"Equal", "1 7h 11b 13b 19b"}, {"Erf", "9 13b"}, {"Exp", "1 6b 13b"}, {"Expand", "8 13b"}, {"EyeLike", "9"},
        {"Flatten", "1 9b 11b 13b 21b"}, {"Floor", "1 6b 13b"}, {"GRU", "1 3b 7b 14b"}, {"Gather", "1 11b 13b"},
        {"GatherElements", "11 13b"}, {"GatherND", "11 12b 13b"}, {"Gelu", "20"}, {"Gemm", "1 6b 7h 9b 11b 13b"},
        {"GlobalAveragePool", "1"}, {"GlobalLpPool", "1 2"}, {"GlobalMaxPool", "1"}, {"Greater", "1 7h 9b 13b"},
        {"GreaterOrEqual", "12 16b"}, {"GridSample", "16 20h"}, {"GroupNormalization", "18 21"},
        {"HammingWindow", "17"}, {"HannWindow", "17"}, {"HardSigmoid", "1 6b"}, {"HardSwish", "14"},
        {"Hardmax", "1 11b 13h"}, {"Identity", "1 13b 14b 16b 19b 21b"}, {"If", "1 11b 13b 16b 19b 21b"},
        {"ImageDecoder", "20"}, {"InstanceNormalization", "1 6b"}, {"IsInf", "10 20b"}, {"IsNaN", "9 13b 20b"},
        {"LRN", "1 13b"}, {"LSTM", "1 7b 14b"}, {"LayerNormalization", "17"}, {"LeakyRelu", "1 6b 16b"},
        {"Less", "1 7h 9b 13b"}, {"LessOrEqual", "12 16b"}, {"Log", "1 6b 13b"}, {"LogSoftmax", "1 11b 13h"},
        {"Loop", "1 11 13b 16b 19b 21b"}, {"LpNormalization", "1"}, {"LpPool", "1 2 11b 18b"}, {"MatMul", "1 9b 13b"},
        {"MatMulInteger", "10"}, {"Max", "1 6b 8b 12b 13b"}, {"MaxPool", "1 8b 10b 11b 12b"}, {"MaxRoiPool", "1"},
        {"MaxUnpool", "9 11b"}, {"Mean", "1 6b 8b 13b"}, {"MeanVarianceNormalization", "9 13b"},
        {"MelWeightMatrix", "17"}, {"Min", "1 6b 8b 12b 13b"}, {"Mish", "18"}, {"Mod", "10 13b"},
        {"Mul", "1 6b 7h 13b 14b"}, {"Multinomial", "7"}, {"Neg", "1 6b 13b"},
        {"NegativeLogLikelihoodLoss", "12 13b"}, {"NonMaxSuppression", "10 11b"}, {"NonZero", "9 13b"},
        {"Not", "1"}, {"OneHot", "9 11b"}, {"Optional", "15"}, {"OptionalGetElement", "15 18b"},
        {"OptionalHasElement", "15 18b"}, {"Or", "1 7h"}, {"PRelu", "1 6b 7b 9b 16b"},
        {"Pad", "1 2h 11h 13b 18b 19b 21b"}, {"Pow", "1 7h 12b 13b 15b"}, {"QLinearConv", "10"},
        {"QLinearMatMul", "10 21b"}, {"QuantizeLinear", "10 13b 19b 21b"}, {"RNN", "1 7b 14b"},
        {"RandomNormal", "1"}, {"RandomNormalLike", "1"}, {"RandomUniform", "1"}, {"RandomUniformLike", "1"},
        {"Range", "11"}, {"Reciprocal", "1 6b 13b"}, {"ReduceL1", "1 11b 13b 18h"}, {"ReduceL2", "1 11b 13b 18h"},
        {"ReduceLogSum", "1 11b 13b 18h"}, {"ReduceLogSumExp", "1 11b 13b 18h"},
        {"ReduceMax", "1 11b 12b 13b 18h 20b"}, {"ReduceMean", "1 11b 13b 18h"},
        {"ReduceMin", "1 11b 12b 13b 18h 20b"}, {"ReduceProd", "1 11b 13b 18h"}, {"ReduceSum", "1 11b 13h"},
        {"ReduceSumSquare", "1 11b 13b 18h"}, {"RegexFullMatch", "20"}, {"Relu", "1 6b 13b 14b"},
        {"Reshape", "1 5h 13b 14b 19b 21b"}, {"Resize", "10 11h 13b 18b 19b"}, {"ReverseSequence", "10"},
        {"RoiAlign", "10 16h"}, {"Round", "11"}, {"STFT", "17"}, {"Scan", "8 9 11b 16b 19b 21b"}, {"Scatter", "9 11h"},
        {"ScatterElements", "11 13b 16b 18b"}, {"ScatterND", "11 13b 16b 18b"}, {"Selu", "1 6b"},
        {"SequenceAt", "11"}, {"SequenceConstruct", "11"}, {"SequenceEmpty", "11"}, {"SequenceErase", "11"},
        {"SequenceInsert", "11"}, {"SequenceLength", "11"}, {"SequenceMap", "17"},
        {"Shape", "1 13b 15b 19b 21b"}, {"Shrink", "9"}, {"Sigmoid", "1 6b 13b"}, {"Sign", "9 13b"}, {"Sin", "7"},
        {"Sinh", "9"}, {"Size", "1 13b 19b 21b"}, {"Slice", "1 10h 11b 13b"}, {"Softmax", "1 11b 13h"},
        {"SoftmaxCrossEntropyLoss", "12 13b"}, {"Softplus", "1"}, {"Softsign", "1"}, {"SpaceToDepth", "1 13b"},
        {"Split", "1 2h 11b 13h 18h"}, {"SplitToSequence", "11"}, {"Sqrt", "1 6b 13b"},
        {"Squeeze", "1 11b 13h 21b"}, {"StringConcat", "20"}, {"StringNormalizer", "10"}, {"StringSplit", "20"},
        {"Sub", "1 6b 7h 13b 14b"}, {"Sum", "1 6b 8b 13b"}, {"Tan", "7"}, {"Tanh", "1 6b 13b"},
        {"TfIdfVectorizer", "9"}, {"ThresholdedRelu", "10"}, {"Tile", "1 6 13b"}, {"TopK", "1 10h 11b"},
        {"Transpose", "1 13b 21b"}, {"Trilu", "14"}, {"Unique", "11"}, {"Unsqueeze", "1 11b 13h 21b"},
        {"Upsample", "7 9h 10h"}, {"Where", "9 16b"}, {"Xor", "1 7h"},
    };
    return h;
}

struct Change {
    int64_t version;
    char mark;  // 'b', 'h' or 0
};

std::vector<Change> parse_history(const std::string& s) {
    std::vector<Change> r;
    std::istringstream is(s);
    std::string tok;
    while (is >> tok) {
        char mark = 0;
        if (tok.back() == 'b' || tok.back() == 'h') {
            mark = tok.back();
            tok.pop_back();
        }
        r.push_back({std::stoll(tok), mark});
    }
    return r;
}

Attribute int_attr(int64_t v) {
    Attribute a;
    a.kind = Attribute::Kind::Int;
    a.i = v;
    return a;
}
Attribute string_attr(std::string v) {
    Attribute a;
    a.kind = Attribute::Kind::String;
    a.s = std::move(v);
    return a;
}

// Scalar or 1-D tensor of `dt` (float types) holding `v`.
Tensor float_tensor(DType dt, Shape s, const std::vector<float>& v) {
    Tensor t(dt, std::move(s));
    for (size_t i = 0; i < v.size(); ++i) {
        if (dt == DType::F32) t.data<float>()[i] = v[i];
        else if (dt == DType::F64) t.data<double>()[i] = v[i];
        else if (dt == DType::F16) t.data<uint16_t>()[i] = float_to_half(v[i]);
        else HQ_ASSERT(false, "float_tensor: ", dtype_name(dt));
    }
    return t;
}

// State of one upgrade: the graph as loaded (read only), names in use, what the rewrite adds.
struct Ctx {
    const Graph& g;
    int64_t from = 0, to = 0;
    std::set<std::string> used;
    std::map<std::string, Tensor> inits;
    std::vector<Node> pre, post;  // nodes to place before / after the node being rewritten
    std::map<std::string, std::vector<size_t>> consumers;

    explicit Ctx(const Graph& graph) : g(graph), consumers(graph.consumers()) {
        for (const auto& n : g.nodes) {
            used.insert(n.name);
            used.insert(n.inputs.begin(), n.inputs.end());
            used.insert(n.outputs.begin(), n.outputs.end());
        }
        for (const auto& v : g.inputs) used.insert(v.name);
        for (const auto& v : g.outputs) used.insert(v.name);
        for (const auto& [k, v] : g.value_info) used.insert(k);
        for (const auto& [k, v] : g.initializers) used.insert(k);
    }
    std::string fresh(const std::string& base) {
        std::string c = base;
        for (int i = 1; used.count(c); ++i) c = base + "_" + std::to_string(i);
        used.insert(c);
        return c;
    }
    std::string add_init(const std::string& base, Tensor t) {
        std::string name = fresh(base);
        inits[name] = std::move(t);
        return name;
    }
    std::string add_i64(const std::string& base, const std::vector<int64_t>& v) {
        return add_init(base, Tensor::from_i64({(int64_t)v.size()}, v));
    }
    // Element type of a value when the graph records it; float32 otherwise (the overwhelmingly common case).
    DType dtype_of(const std::string& v) const {
        if (auto it = g.initializers.find(v); it != g.initializers.end()) return it->second.dtype();
        if (const ValueInfo* vi = g.find_value(v); vi && vi->dtype != DType::Undefined) return vi->dtype;
        return DType::F32;
    }
    std::optional<int64_t> rank_of(const std::string& v) const {
        if (auto it = g.initializers.find(v); it != g.initializers.end()) return it->second.rank();
        if (const ValueInfo* vi = g.find_value(v); vi && vi->has_shape) return (int64_t)vi->dims.size();
        return std::nullopt;
    }
    const Tensor* constant(const std::string& v) const {
        auto it = g.initializers.find(v);
        return it == g.initializers.end() ? nullptr : &it->second;
    }
    bool used_output(const Node& n, size_t i) const {
        if (i >= n.outputs.size() || n.outputs[i].empty()) return false;
        return consumers.count(n.outputs[i]) || g.is_graph_output(n.outputs[i]);
    }
    std::string span() const { return "opset " + std::to_string(from) + " to " + std::to_string(to); }
};

std::string fail_prefix(const Node& n, const Ctx& c) { return n.label() + ": cannot upgrade from " + c.span() + ": "; }

void set_input(Node& n, size_t i, const std::string& v) {
    if (n.inputs.size() <= i) n.inputs.resize(i + 1);
    n.inputs[i] = v;
}

// Moves an INTS attribute to int64 input `index` (absent attribute: input left omitted).
void ints_attr_to_input(Node& n, Ctx& c, const std::string& attr, size_t index) {
    if (!n.has_attr(attr)) return;
    auto v = n.attr_ints(attr);
    n.attrs.erase(attr);
    set_input(n, index, c.add_i64(n.name + "_" + attr, v));
}

// --- handlers -------------------------------------------------------------------------------------------

// Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less before 7: limited broadcasting with broadcast/axis.
void h_broadcast(Node& n, Ctx& c) {
    if (c.from >= 7) return;
    const bool bc = n.attr_int("broadcast", 0) != 0;
    if (bc && n.has_attr("axis")) {
        const int64_t axis = n.attr_int("axis", 0);
        auto ra = c.rank_of(n.input(0)), rb = c.rank_of(n.input(1));
        const bool trailing = ra && rb && (axis == *ra - *rb || (axis < 0 && axis == -*rb));
        HQ_CHECK(trailing, fail_prefix(n, c), "broadcast=1 with axis=", axis,
                 " does not align B with the trailing dimensions of A (or the ranks are unknown)");
    }
    n.attrs.erase("broadcast");
    n.attrs.erase("axis");
}

void h_gemm(Node& n, Ctx& c) {
    if (c.from < 7) n.attrs.erase("broadcast");  // Gemm-7 broadcasts C unidirectionally, a superset
}

void h_clip(Node& n, Ctx& c) {
    if (c.from >= 11) return;
    const DType dt = c.dtype_of(n.input(0));
    HQ_CHECK(dtype_is_float(dt), fail_prefix(n, c), "input type ", dtype_name(dt), " is not a float type");
    if (n.has_attr("min")) set_input(n, 1, c.add_init(n.name + "_min", float_tensor(dt, {}, {n.attr_float("min", 0)})));
    if (n.has_attr("max")) set_input(n, 2, c.add_init(n.name + "_max", float_tensor(dt, {}, {n.attr_float("max", 0)})));
    n.attrs.erase("min");
    n.attrs.erase("max");
}

// Softmax/LogSoftmax/Hardmax before 13 coerce the input to 2-D at `axis` (default 1).
void h_softmax(Node& n, Ctx& c) {
    if (c.from >= 13) return;
    int64_t axis = n.attr_int("axis", 1);
    auto rank = c.rank_of(n.input(0));
    if (rank) {
        if (axis < 0) axis += *rank;
        HQ_CHECK(axis >= 0 && axis <= *rank, fail_prefix(n, c), "axis ", n.attr_int("axis", 1), " out of range for rank ",
                 *rank);
        if (axis == *rank - 1) {
            n.attrs["axis"] = int_attr(-1);
            return;
        }
    }
    // Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)).
    const std::string x = n.input(0), y = n.outputs.at(0);
    Node shape;
    shape.op_type = "Shape";
    shape.name = c.fresh(n.name + "_shape");
    shape.inputs = {x};
    shape.outputs = {c.fresh(x + "_shape")};
    Node flat;
    flat.op_type = "Flatten";
    flat.name = c.fresh(n.name + "_flatten");
    flat.inputs = {x};
    flat.outputs = {c.fresh(x + "_2d")};
    flat.attrs["axis"] = int_attr(axis);
    Node back;
    back.op_type = "Reshape";
    back.name = c.fresh(n.name + "_reshape");
    const std::string y2d = c.fresh(y + "_2d");
    back.inputs = {y2d, shape.outputs[0]};
    back.outputs = {y};
    n.inputs[0] = flat.outputs[0];
    n.outputs[0] = y2d;
    n.attrs["axis"] = int_attr(-1);
    c.pre.push_back(std::move(shape));
    c.pre.push_back(std::move(flat));
    c.post.push_back(std::move(back));
}

void h_slice(Node& n, Ctx& c) {
    if (c.from >= 10) return;
    HQ_CHECK(n.has_attr("starts") && n.has_attr("ends"), fail_prefix(n, c), "starts/ends attributes missing");
    auto starts = n.attr_ints("starts"), ends = n.attr_ints("ends");
    n.inputs.resize(1);
    set_input(n, 1, c.add_i64(n.name + "_starts", starts));
    set_input(n, 2, c.add_i64(n.name + "_ends", ends));
    if (n.has_attr("axes")) set_input(n, 3, c.add_i64(n.name + "_axes", n.attr_ints("axes")));
    n.attrs.erase("starts");
    n.attrs.erase("ends");
    n.attrs.erase("axes");
}

// Squeeze/Unsqueeze/ReduceSum (13) and the other Reduce ops (18): axes attribute -> input 1.
void h_axes_input(Node& n, Ctx& c) {
    const int64_t since = n.op_type == "Squeeze" || n.op_type == "Unsqueeze" || n.op_type == "ReduceSum" ? 13 : 18;
    if (c.from >= since || c.to < since) return;
    HQ_CHECK(n.num_inputs() <= 1, fail_prefix(n, c), "unexpected extra inputs");
    n.inputs.resize(1);
    ints_attr_to_input(n, c, "axes", 1);
}

void h_split(Node& n, Ctx& c) {
    if (c.from < 2 && n.num_inputs() > 1) {
        // Split-1 took `split` as an optional input; 13+ takes it as an input again.
        HQ_CHECK(c.to >= 13, fail_prefix(n, c), "a 'split' input is only valid again from opset 13");
        HQ_CHECK(!n.has_attr("split"), fail_prefix(n, c), "both a 'split' input and attribute");
    }
    if (c.from < 13 && c.to >= 13) ints_attr_to_input(n, c, "split", 1);
    if (c.to >= 18 && n.input(1).empty() && !n.has_attr("num_outputs"))
        n.attrs["num_outputs"] = int_attr((int64_t)n.outputs.size());  // 18 requires split or num_outputs
}

void h_pad(Node& n, Ctx& c) {
    if (c.from < 2 && n.has_attr("paddings")) {  // Pad-1 named it 'paddings'
        n.attrs["pads"] = n.attrs["paddings"];
        n.attrs.erase("paddings");
    }
    if (c.from >= 11 || c.to < 11) return;
    HQ_CHECK(n.has_attr("pads"), fail_prefix(n, c), "pads attribute missing");
    auto pads = n.attr_ints("pads");
    const std::string mode = n.attr_string("mode", "constant");
    n.inputs.resize(1);
    set_input(n, 1, c.add_i64(n.name + "_pads", pads));
    const float value = n.attr_float("value", 0.f);
    if (mode == "constant" && value != 0.f) {
        const DType dt = c.dtype_of(n.input(0));
        HQ_CHECK(dtype_is_float(dt), fail_prefix(n, c), "a non-zero pad value on a ", dtype_name(dt), " input");
        set_input(n, 2, c.add_init(n.name + "_value", float_tensor(dt, {}, {value})));
    }
    n.attrs.erase("pads");
    n.attrs.erase("value");
}

void h_topk(Node& n, Ctx& c) {
    if (c.from >= 10) return;
    HQ_CHECK(n.has_attr("k"), fail_prefix(n, c), "k attribute missing");
    set_input(n, 1, c.add_i64(n.name + "_k", {n.attr_int("k", 0)}));
    n.attrs.erase("k");
}

void h_dropout(Node& n, Ctx& c) {
    if (c.from < 7) {
        HQ_CHECK(n.attr_int("is_test", 0) != 0 || !c.used_output(n, 1), fail_prefix(n, c),
                 "is_test=0 (training) with the mask output used");
    }
    n.attrs.erase("is_test");
    if (!c.used_output(n, 1)) {  // inference: Dropout is the identity
        n.op_type = "Identity";
        n.inputs.resize(1);
        n.outputs.resize(1);
        n.attrs.clear();
        return;
    }
    HQ_CHECK(c.from >= 10, fail_prefix(n, c), "the mask output changes type (input type -> bool) at opset 10");
    if (c.from < 12 && c.to >= 12) {
        const float ratio = n.attr_float("ratio", 0.5f);
        n.attrs.erase("ratio");
        set_input(n, 1, c.add_init(n.name + "_ratio", Tensor::scalar_f32(ratio)));
    }
}

void h_batchnorm(Node& n, Ctx& c) {
    if (c.from < 9) {
        HQ_CHECK(n.attr_int("spatial", 1) != 0, fail_prefix(n, c), "spatial=0 (per-element statistics)");
        n.attrs.erase("spatial");
    }
    if (c.from < 7) {
        HQ_CHECK(n.attr_int("is_test", 0) != 0 || n.outputs.size() <= 1 ||
                     std::none_of(n.outputs.begin() + 1, n.outputs.end(), [](auto& o) { return !o.empty(); }),
                 fail_prefix(n, c), "is_test=0 with statistics outputs (training)");
        n.attrs.erase("is_test");
    }
    if (c.from < 14) {
        // Before 14, statistics outputs meant training mode; 14 expresses that with training_mode.
        for (size_t i = 1; i < n.outputs.size(); ++i)
            HQ_CHECK(!c.used_output(n, i), fail_prefix(n, c), "statistics output '", n.outputs[i],
                     "' is used (training mode)");
        n.outputs.resize(1);
    }
}

void h_cast(Node& n, Ctx& c) {
    if (c.from >= 6) return;
    auto it = n.attrs.find("to");
    if (it == n.attrs.end() || it->second.kind != Attribute::Kind::String) return;
    static const std::map<std::string, int64_t> names = {
        {"FLOAT", 1}, {"UINT8", 2}, {"INT8", 3}, {"UINT16", 4}, {"INT16", 5}, {"INT32", 6}, {"INT64", 7},
        {"STRING", 8}, {"BOOL", 9}, {"FLOAT16", 10}, {"DOUBLE", 11}, {"UINT32", 12}, {"UINT64", 13}};
    auto t = names.find(it->second.s);
    HQ_CHECK(t != names.end(), fail_prefix(n, c), "unknown 'to' type '", it->second.s, "'");
    it->second = int_attr(t->second);
}

void h_concat(Node& n, Ctx& c) {
    if (c.from < 4 && !n.has_attr("axis")) n.attrs["axis"] = int_attr(1);  // Concat-1 defaulted to axis 1
}

void h_reshape(Node& n, Ctx& c) {
    if (c.from >= 5) return;
    HQ_CHECK(n.has_attr("shape"), fail_prefix(n, c), "shape attribute missing");
    n.inputs.resize(1);
    ints_attr_to_input(n, c, "shape", 1);
}

void h_scatter(Node& n, Ctx& c) {
    if (c.to >= 11) n.op_type = "ScatterElements";  // same inputs, attributes and meaning
}

void h_roialign(Node& n, Ctx& c) {
    if (c.from < 16 && c.to >= 16 && !n.has_attr("coordinate_transformation_mode"))
        n.attrs["coordinate_transformation_mode"] = string_attr("output_half_pixel");  // RoiAlign-10's behaviour
}

void h_gridsample(Node& n, Ctx& c) {
    if (c.from >= 20 || c.to < 20) return;
    const std::string mode = n.attr_string("mode", "bilinear");
    n.attrs["mode"] = string_attr(mode == "bilinear" ? "linear" : mode == "bicubic" ? "cubic" : mode);
}

// Upsample-7/9 and Resize-10: asymmetric coordinates; nearest picks floor when upsampling and ceil when
// downsampling (ONNX Runtime's behaviour, which the CPU executor reproduces).
void h_resize(Node& n, Ctx& c) {
    const bool upsample = n.op_type == "Upsample";
    if (!upsample && c.from >= 11) return;
    if (upsample && c.to < 10) {  // Upsample-7 -> 9: scales attribute -> input
        if (c.from < 9) {
            HQ_CHECK(n.has_attr("scales"), fail_prefix(n, c), "scales attribute missing");
            auto s = n.attr_floats("scales");
            n.attrs.erase("scales");
            set_input(n, 1, c.add_init(n.name + "_scales", Tensor::from_f32({(int64_t)s.size()}, s)));
        }
        return;
    }
    const std::string mode = n.attr_string("mode", "nearest");
    HQ_CHECK(mode == "nearest" || mode == "linear", fail_prefix(n, c), "mode '", mode, "'");
    std::string scales = n.input(1);
    std::vector<float> sv;
    if (upsample && c.from < 9) {
        HQ_CHECK(n.has_attr("scales"), fail_prefix(n, c), "scales attribute missing");
        sv = n.attr_floats("scales");
        scales = c.add_init(n.name + "_scales", Tensor::from_f32({(int64_t)sv.size()}, sv));
    } else if (const Tensor* t = c.constant(scales)) {
        sv = t->to_f32();
    }
    n.attrs.erase("scales");
    if (mode == "nearest") {
        HQ_CHECK(!sv.empty(), fail_prefix(n, c), "nearest mode with non-constant scales '", scales,
                 "' (rounding depends on whether each scale is < 1)");
        const bool down = std::any_of(sv.begin(), sv.end(), [](float s) { return s < 1.f; });
        const bool up = std::any_of(sv.begin(), sv.end(), [](float s) { return s > 1.f; });
        HQ_CHECK(!(down && up), fail_prefix(n, c), "nearest mode with scales both below and above 1");
        n.attrs["nearest_mode"] = string_attr(down ? "ceil" : "floor");
    }
    n.attrs["coordinate_transformation_mode"] = string_attr("asymmetric");
    n.op_type = "Resize";
    if (c.to >= 11) {
        // Resize-11+: X, roi, scales. roi is ignored without tf_crop_and_resize; 11-12 need it present.
        std::string roi = c.to >= 13 ? std::string() : c.add_init(n.name + "_roi", Tensor(DType::F32, {0}));
        n.inputs = {n.input(0), roi, scales};
    } else {
        n.inputs = {n.input(0), scales};
        n.attrs.erase("coordinate_transformation_mode");
        n.attrs.erase("nearest_mode");
    }
}

using Handler = std::function<void(Node&, Ctx&)>;

const std::map<std::string, Handler>& handlers() {
    static const std::map<std::string, Handler> h = {
        {"Add", h_broadcast}, {"Sub", h_broadcast}, {"Mul", h_broadcast}, {"Div", h_broadcast},
        {"Pow", h_broadcast}, {"And", h_broadcast}, {"Or", h_broadcast}, {"Xor", h_broadcast},
        {"Equal", h_broadcast}, {"Greater", h_broadcast}, {"Less", h_broadcast}, {"Gemm", h_gemm},
        {"Clip", h_clip}, {"Softmax", h_softmax}, {"LogSoftmax", h_softmax}, {"Hardmax", h_softmax},
        {"Slice", h_slice}, {"Squeeze", h_axes_input}, {"Unsqueeze", h_axes_input}, {"ReduceSum", h_axes_input},
        {"ReduceL1", h_axes_input}, {"ReduceL2", h_axes_input}, {"ReduceLogSum", h_axes_input},
        {"ReduceLogSumExp", h_axes_input}, {"ReduceMax", h_axes_input}, {"ReduceMean", h_axes_input},
        {"ReduceMin", h_axes_input}, {"ReduceProd", h_axes_input}, {"ReduceSumSquare", h_axes_input},
        {"Split", h_split}, {"Pad", h_pad}, {"TopK", h_topk}, {"Dropout", h_dropout},
        {"BatchNormalization", h_batchnorm}, {"Cast", h_cast}, {"Concat", h_concat}, {"Reshape", h_reshape},
        {"Scatter", h_scatter}, {"RoiAlign", h_roialign}, {"GridSample", h_gridsample}, {"Upsample", h_resize},
        {"Resize", h_resize},
    };
    return h;
}

}  // namespace

namespace {

// The nodes of one graph; `names` holds every name in use across the model (kept up to date).
void upgrade_graph(Graph& g, int64_t from, int64_t target, std::set<std::string>& names) {
    Ctx c(g);
    c.from = from;
    c.to = target;
    c.used.insert(names.begin(), names.end());
    std::vector<Node> out;
    out.reserve(g.nodes.size());
    for (const Node& orig : g.nodes) {
        if (!orig.domain.empty() && orig.domain != "ai.onnx") {
            out.push_back(orig);
            continue;
        }
        auto hit = histories().find(orig.op_type);
        HQ_CHECK(hit != histories().end(), orig.label(), ": cannot upgrade from ", c.span(),
                 ": operator history unknown to hyquant");
        auto hist = parse_history(hit->second);
        bool needs_handler = false;
        for (const auto& ch : hist) {
            if (ch.version <= from || ch.version > target || ch.version == hist.front().version) continue;
            HQ_CHECK(ch.mark != 0, orig.label(), ": cannot upgrade from ", c.span(), ": the ", orig.op_type,
                     " schema changed at opset ", ch.version, " in a way hyquant does not rewrite");
            needs_handler |= ch.mark == 'h';
        }
        HQ_CHECK(from >= hist.front().version || hist.front().version > target || orig.op_type != "Upsample",
                 orig.label(), ": cannot upgrade from ", c.span(), ": Upsample-1 is not supported");
        Node n = orig;
        if (from < 6) n.attrs.erase("consumed_inputs");  // legacy optimization hint, dropped at 6
        if (from < 7 && (n.op_type == "GRU" || n.op_type == "LSTM" || n.op_type == "RNN"))
            n.attrs.erase("output_sequence");  // 7: Y is produced when named
        if (needs_handler) {
            auto h = handlers().find(n.op_type);
            HQ_ASSERT(h != handlers().end(), n.op_type);
            h->second(n, c);
        }
        for (auto& p : c.pre) out.push_back(std::move(p));
        out.push_back(std::move(n));
        for (auto& p : c.post) out.push_back(std::move(p));
        c.pre.clear();
        c.post.clear();
    }
    g.nodes = std::move(out);
    for (auto& [k, v] : c.inits) g.initializers[k] = std::move(v);
    names = std::move(c.used);
}

}  // namespace

bool upgrade_opset(Model& m, int64_t target) {
    const int64_t from = m.opset("");
    HQ_CHECK(from > 0, "model has no ai.onnx opset import");
    HQ_CHECK(target >= from, "cannot lower the ai.onnx opset from ", from, " to ", target);
    HQ_CHECK(target <= kMaxUpgradeOpset, "cannot upgrade to opset ", target, ": operator histories are known up to ",
             kMaxUpgradeOpset);
    if (target == from) return false;
    // Every graph: the model's and its subgraphs (If branches, Loop/Scan bodies), with names unique across them.
    std::set<std::string> names;
    for_each_graph(m.graph, [&](const Graph& g, int) {
        Ctx all(g);
        names.insert(all.used.begin(), all.used.end());
    });
    for_each_graph(m.graph, [&](Graph& g, int) { upgrade_graph(g, from, target, names); });
    m.opsets[""] = target;
    // The IR version each opset needs (ONNX's versioning table).
    const int64_t ir = target >= 21 ? 10 : target >= 19 ? 9 : target >= 15 ? 8 : target >= 13 ? 7 : target >= 11 ? 6 : 3;
    m.ir_version = std::max(m.ir_version, ir);
    return true;
}

}  // namespace hq::graph
