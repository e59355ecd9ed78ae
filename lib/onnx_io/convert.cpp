#include "onnx_io/convert.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/half.h"

namespace fs = std::filesystem;

namespace hq::onnx_io::detail {

namespace {

bool path_inside(const fs::path& child, const fs::path& root) {
    auto r = root.begin(), c = child.begin();
    for (; r != root.end(); ++r, ++c) {
        if (c == child.end() || *r != *c) return false;
    }
    return true;
}

int64_t parse_i64(const std::string& s, const std::string& what) {
    HQ_CHECK(!s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos,
             what, " '", s, "' is not a non-negative integer");
    return std::stoll(s);
}

struct ExternalRef {
    fs::path file;
    int64_t offset;
    std::string location;
};

// Validates a tensor's external data reference before anything is allocated for it.
ExternalRef resolve_external(const onnx::TensorProto& p, const ExternalDataRoot& root, size_t nbytes) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : p.external_data()) {
        if (kv.key() == "location")
            location = kv.value();
        else if (kv.key() == "offset")
            offset = parse_i64(kv.value(), root.label + ": tensor '" + p.name() + "' external data offset");
        else if (kv.key() == "length")
            length = parse_i64(kv.value(), root.label + ": tensor '" + p.name() + "' external data length");
    }
    const std::string who = root.label + ": tensor '" + p.name() + "'";
    HQ_CHECK(!root.dir.empty(), who, ": external data is not allowed here");
    HQ_CHECK(!location.empty(), who, ": external data has no location");
    fs::path loc(location);
    HQ_CHECK(loc.is_relative() && !loc.has_root_name() && !loc.has_root_directory(), who,
             ": external data location '", location, "' is absolute; it must be relative to the model's folder");
    for (const auto& part : loc)
        HQ_CHECK(part != "..", who, ": external data location '", location, "' leaves the model's folder");
    std::error_code ec;
    fs::path dir = fs::canonical(root.dir, ec);
    HQ_CHECK(!ec, who, ": cannot resolve the model's folder");
    fs::path full = fs::canonical(dir / loc, ec);
    HQ_CHECK(!ec, who, ": external data file '", location, "' not found next to the model");
    HQ_CHECK(path_inside(full, dir), who, ": external data location '", location,
             "' resolves outside the model's folder");
    HQ_CHECK(fs::is_regular_file(full, ec), who, ": external data '", location, "' is not a regular file");
    int64_t fsize = (int64_t)fs::file_size(full, ec);
    HQ_CHECK(!ec, who, ": cannot stat external data '", location, "'");
    if (length < 0) length = fsize - offset;
    HQ_CHECK((size_t)length == nbytes, who, ": external data length ", length, " but the tensor needs ", nbytes,
             " bytes");
    HQ_CHECK(offset >= 0 && offset <= fsize && length <= fsize - offset, who, ": external data range [", offset,
             ", +", length, ") exceeds the size of '", location, "' (", fsize, " bytes)");
    return {full, offset, location};
}

void read_external(const ExternalRef& ref, const std::string& who, void* dst, size_t nbytes) {
    std::ifstream in(ref.file, std::ios::binary);
    in.seekg(ref.offset);
    in.read(static_cast<char*>(dst), (std::streamsize)nbytes);
    HQ_CHECK(in.good() || nbytes == 0, who, ": cannot read external data '", ref.location, "'");
}

// External tensors of at least this size are memory-mapped rather than read.
constexpr size_t kMapMinBytes = 64 * 1024;

// Maps the tensor's range of its external file privately (copy-on-write: writes never reach the file), so that
// bytes nobody reads are never loaded and a released tensor gives its memory back (munmap). Empty where the
// range's address would not be 64-byte aligned (as Tensor storage must be) or mapping fails: the caller reads a copy.
Tensor map_external(const ExternalRef& ref, const std::string& who, DType dt, const Shape& shape, size_t nbytes) {
    static const size_t page = (size_t)::sysconf(_SC_PAGESIZE);
    const size_t in_page = (size_t)ref.offset % page;
    if (nbytes < kMapMinBytes || in_page % 64 != 0) return Tensor();
    // Rounded up to 64 bytes as owned storage is; that stays inside the last byte's page (zeros past the file end).
    const size_t len = in_page + (nbytes + 63) / 64 * 64;
    int fd = ::open(ref.file.c_str(), O_RDONLY | O_CLOEXEC);
    HQ_CHECK(fd >= 0, who, ": cannot open external data '", ref.location, "'");
    void* base = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)(ref.offset - (int64_t)in_page));
    ::close(fd);
    if (base == MAP_FAILED) return Tensor();
    std::shared_ptr<void> map(base, [len](void* q) { ::munmap(q, len); });
    return Tensor(dt, shape, std::shared_ptr<void>(map, static_cast<char*>(base) + in_page));
}

template <typename Src, typename Dst>
void copy_field(const google::protobuf::RepeatedField<Src>& f, Dst* out, int64_t n, const std::string& who) {
    HQ_CHECK(f.size() == n, who, ": holds ", f.size(), " values, its shape needs ", n);
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Dst>(f.Get((int)i));
}

}  // namespace

std::string onnx_type_name(int32_t t) {
    switch (t) {
        case 0: return "UNDEFINED";
        case 1: return "FLOAT";
        case 2: return "UINT8";
        case 3: return "INT8";
        case 4: return "UINT16";
        case 5: return "INT16";
        case 6: return "INT32";
        case 7: return "INT64";
        case 8: return "STRING";
        case 9: return "BOOL";
        case 10: return "FLOAT16";
        case 11: return "DOUBLE";
        case 12: return "UINT32";
        case 13: return "UINT64";
        case 14: return "COMPLEX64";
        case 15: return "COMPLEX128";
        case 16: return "BFLOAT16";
        case 17: return "FLOAT8E4M3FN";
        case 18: return "FLOAT8E4M3FNUZ";
        case 19: return "FLOAT8E5M2";
        case 20: return "FLOAT8E5M2FNUZ";
        case 21: return "UINT4";
        case 22: return "INT4";
        case 23: return "FLOAT4E2M1";
        case 24: return "FLOAT8E8M0";
        case 25: return "UINT2";
        case 26: return "INT2";
        default: return "data type " + std::to_string(t);
    }
}

Tensor tensor_from_proto(const onnx::TensorProto& p, const ExternalDataRoot& root, const std::string& what) {
    const std::string who = root.label + ": " + (what.empty() ? "tensor '" + p.name() + "'" : what);
    HQ_CHECK(!p.has_segment(), who, ": segmented tensors are not supported");
    HQ_CHECK(dtype_known(p.data_type()), who, " has element type ", onnx_type_name(p.data_type()), " (",
             p.data_type(), "), which hyquant does not support");
    DType dt = static_cast<DType>(p.data_type());
    Shape shape(p.dims().begin(), p.dims().end());
    for (int64_t d : shape) HQ_CHECK(d >= 0, who, ": negative dimension ", d);
    int64_t n;
    try {
        n = shape_numel(shape);
    } catch (const Error&) {
        HQ_FAIL(who, ": shape ", shape_str(shape), " has too many elements");
    }
    if (dt == DType::String) {
        HQ_CHECK(p.data_location() != onnx::TensorProto::EXTERNAL, who, ": external string data is not supported");
        HQ_CHECK(p.string_data_size() == n, who, ": holds ", p.string_data_size(), " strings, its shape needs ", n);
        Tensor t(dt, shape);
        for (int64_t i = 0; i < n; ++i) t.strings()[i] = p.string_data((int)i);
        return t;
    }
    const size_t esz = dtype_size(dt);
    const size_t nbytes = (size_t)n * esz;
    // Refuse absurd allocations before making them: inline data must be present in the message.
    if (p.data_location() != onnx::TensorProto::EXTERNAL && p.has_raw_data())
        HQ_CHECK(p.raw_data().size() == nbytes, who, ": raw data has ", p.raw_data().size(), " bytes, its shape ",
                 shape_str(shape), " needs ", nbytes);
    HQ_CHECK(nbytes < ((size_t)1 << 40), who, ": too large");
    if (p.data_location() != onnx::TensorProto::EXTERNAL && !p.has_raw_data()) {
        int64_t have = p.float_data_size() + p.int32_data_size() + p.int64_data_size() + p.double_data_size() +
                       p.uint64_data_size();
        HQ_CHECK(have == n, who, ": holds ", have, " values, its shape ", shape_str(shape), " needs ", n);
    }
    if (p.data_location() == onnx::TensorProto::EXTERNAL) {
        ExternalRef ref = resolve_external(p, root, nbytes);
        if (Tensor mapped = map_external(ref, who, dt, shape, nbytes); !mapped.empty()) return mapped;
        Tensor t(dt, shape);
        read_external(ref, who, t.raw(), nbytes);
        return t;
    }
    Tensor t(dt, shape);
    if (p.has_raw_data()) {
        if (nbytes) std::memcpy(t.raw(), p.raw_data().data(), nbytes);
        return t;
    }
    switch (dt) {
        case DType::F32: copy_field(p.float_data(), t.data<float>(), n, who); break;
        case DType::F64: copy_field(p.double_data(), t.data<double>(), n, who); break;
        case DType::I64: copy_field(p.int64_data(), t.data<int64_t>(), n, who); break;
        case DType::I32: copy_field(p.int32_data(), t.data<int32_t>(), n, who); break;
        case DType::I16: copy_field(p.int32_data(), (int16_t*)t.raw(), n, who); break;
        case DType::I8: copy_field(p.int32_data(), (int8_t*)t.raw(), n, who); break;
        case DType::U8: case DType::Bool: copy_field(p.int32_data(), (uint8_t*)t.raw(), n, who); break;
        case DType::U16: case DType::F16: case DType::BF16: copy_field(p.int32_data(), (uint16_t*)t.raw(), n, who); break;
        case DType::U32: copy_field(p.uint64_data(), (uint32_t*)t.raw(), n, who); break;
        case DType::U64: copy_field(p.uint64_data(), (uint64_t*)t.raw(), n, who); break;
        default: HQ_FAIL(who, ": unsupported data type");
    }
    return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
    p->Clear();
    p->set_name(name);
    p->set_data_type(static_cast<int32_t>(t.dtype()));
    for (int64_t d : t.shape()) p->add_dims(d);
    if (t.dtype() == DType::String) {
        for (const auto& s : t.strings()) p->add_string_data(s);
        return;
    }
    p->set_raw_data(t.raw(), t.nbytes());
}

namespace {

// `label` set: a declared element type hyquant does not know is an error naming the value (`kind`: input, output,
// value). Without it (shape-inference results) such values just stay untyped.
graph::ValueInfo value_info_from_proto(const onnx::ValueInfoProto& v, const std::string& label = "",
                                       const char* kind = "value") {
    graph::ValueInfo vi;
    vi.name = v.name();
    if (v.has_type() && v.type().has_tensor_type()) {
        const auto& tt = v.type().tensor_type();
        if (!label.empty())
            HQ_CHECK(tt.elem_type() == 0 || dtype_known(tt.elem_type()), label, ": ", kind, " '", v.name(),
                     "' has element type ", onnx_type_name(tt.elem_type()), " (", tt.elem_type(),
                     "), which hyquant does not support");
        vi.dtype = dtype_known(tt.elem_type()) ? static_cast<DType>(tt.elem_type()) : DType::Undefined;
        if (tt.has_shape()) {
            vi.has_shape = true;
            for (const auto& d : tt.shape().dim()) {
                graph::Dim dim;
                if (d.has_dim_value() && d.dim_value() >= 0) dim.value = d.dim_value();
                if (d.has_dim_param()) dim.param = d.dim_param();
                vi.dims.push_back(dim);
            }
        }
    }
    return vi;
}

void value_info_to_proto(const graph::ValueInfo& vi, onnx::ValueInfoProto* v) {
    v->set_name(vi.name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int32_t>(vi.dtype));
    if (vi.has_shape) {
        auto* sh = tt->mutable_shape();
        for (const auto& d : vi.dims) {
            auto* pd = sh->add_dim();
            if (d.known())
                pd->set_dim_value(d.value);
            else if (!d.param.empty())
                pd->set_dim_param(d.param);
        }
    }
}

graph::Graph graph_from_proto(const onnx::GraphProto& gp, const ExternalDataRoot& root, int depth,
                              onnx::GraphProto* release = nullptr);

graph::Attribute attr_from_proto(const onnx::AttributeProto& a, const ExternalDataRoot& root, int depth,
                                 const std::string& node) {
    using K = graph::Attribute::Kind;
    graph::Attribute r;
    int type = a.type();
    if (type == onnx::AttributeProto::UNDEFINED) {  // very old models: infer from the field present
        if (a.has_f()) type = onnx::AttributeProto::FLOAT;
        else if (a.has_i()) type = onnx::AttributeProto::INT;
        else if (a.has_s()) type = onnx::AttributeProto::STRING;
        else if (a.has_t()) type = onnx::AttributeProto::TENSOR;
        else if (a.has_g()) type = onnx::AttributeProto::GRAPH;
        else if (a.floats_size()) type = onnx::AttributeProto::FLOATS;
        else if (a.ints_size()) type = onnx::AttributeProto::INTS;
        else if (a.strings_size()) type = onnx::AttributeProto::STRINGS;
        else type = onnx::AttributeProto::INTS;
    }
    switch (type) {
        case onnx::AttributeProto::FLOAT: r.kind = K::Float; r.f = a.f(); break;
        case onnx::AttributeProto::INT: r.kind = K::Int; r.i = a.i(); break;
        case onnx::AttributeProto::STRING: r.kind = K::String; r.s = a.s(); break;
        case onnx::AttributeProto::TENSOR:
            r.kind = K::Tensor;
            r.t = tensor_from_proto(a.t(), root, "node '" + node + "' attribute '" + a.name() + "'");
            break;
        case onnx::AttributeProto::GRAPH:
            r.kind = K::Graph;
            r.g = std::make_shared<graph::Graph>(graph_from_proto(a.g(), root, depth + 1));
            break;
        case onnx::AttributeProto::FLOATS: r.kind = K::Floats; r.floats.assign(a.floats().begin(), a.floats().end()); break;
        case onnx::AttributeProto::INTS: r.kind = K::Ints; r.ints.assign(a.ints().begin(), a.ints().end()); break;
        case onnx::AttributeProto::STRINGS: r.kind = K::Strings; r.strings.assign(a.strings().begin(), a.strings().end()); break;
        case onnx::AttributeProto::TENSORS:
            r.kind = K::Tensors;
            for (const auto& t : a.tensors())
                r.tensors.push_back(tensor_from_proto(t, root, "node '" + node + "' attribute '" + a.name() + "'"));
            break;
        case onnx::AttributeProto::GRAPHS:
            r.kind = K::Graphs;
            for (const auto& g : a.graphs())
                r.graphs.push_back(std::make_shared<graph::Graph>(graph_from_proto(g, root, depth + 1)));
            break;
        default:
            HQ_FAIL(root.label, ": node '", node, "': attribute '", a.name(), "' has an unsupported type ", type);
    }
    return r;
}

graph::Graph graph_from_proto(const onnx::GraphProto& gp, const ExternalDataRoot& root, int depth,
                              onnx::GraphProto* release) {
    HQ_CHECK(depth < 32, root.label, ": subgraphs nested too deep");
    graph::Graph g;
    g.name = gp.name();
    for (int i = 0; i < gp.initializer_size(); ++i) {
        const auto& t = gp.initializer(i);
        HQ_CHECK(!t.name().empty(), root.label, ": an initializer has no name");
        g.initializers[t.name()] = tensor_from_proto(t, root);
        // The message's copy of the bytes goes as soon as the tensor has its own (one copy alive, not two).
        if (release && t.has_raw_data()) std::string().swap(*release->mutable_initializer(i)->mutable_raw_data());
    }
    HQ_CHECK(gp.sparse_initializer_size() == 0, root.label, ": sparse initializers are not supported");
    for (const auto& v : gp.input()) {
        if (g.initializers.count(v.name())) continue;  // IR < 4: initializers also listed as inputs
        auto vi = value_info_from_proto(v, root.label, "input");
        HQ_CHECK(vi.dtype != DType::Undefined, root.label, ": input '", v.name(),
                 "' is not a tensor of a supported type");
        g.inputs.push_back(vi);
    }
    for (const auto& v : gp.output()) g.outputs.push_back(value_info_from_proto(v, root.label, "output"));
    for (const auto& v : gp.value_info()) g.value_info[v.name()] = value_info_from_proto(v, root.label, "value");
    for (const auto& np : gp.node()) {
        graph::Node n;
        n.name = np.name();
        n.op_type = np.op_type();
        n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
        n.inputs.assign(np.input().begin(), np.input().end());
        n.outputs.assign(np.output().begin(), np.output().end());
        for (const auto& a : np.attribute()) {
            HQ_CHECK(a.ref_attr_name().empty(), root.label, ": node '", n.name, "': attribute references are only for functions");
            n.attrs[a.name()] = attr_from_proto(a, root, depth, n.name);
        }
        g.nodes.push_back(std::move(n));
    }
    // Give unnamed nodes stable names so that errors and plans can refer to them; a name used twice keeps its
    // first node and the later ones are renamed the same way (plans and reports name nodes).
    std::map<std::string, int> seen;
    for (auto& n : g.nodes)
        if (!n.name.empty() && seen[n.name]++) n.name.clear();
    size_t k = 0;
    for (auto& n : g.nodes) {
        if (!n.name.empty()) continue;
        std::string c;
        do c = n.op_type + "_" + std::to_string(k++); while (seen.count(c));
        seen[c]++;
        n.name = c;
    }
    return g;
}

void graph_to_proto(const graph::Graph& g, onnx::GraphProto* gp, const std::string& stub_file = "");

void attr_to_proto(const std::string& name, const graph::Attribute& a, onnx::AttributeProto* p) {
    using K = graph::Attribute::Kind;
    p->set_name(name);
    switch (a.kind) {
        case K::Float: p->set_type(onnx::AttributeProto::FLOAT); p->set_f(a.f); break;
        case K::Int: p->set_type(onnx::AttributeProto::INT); p->set_i(a.i); break;
        case K::String: p->set_type(onnx::AttributeProto::STRING); p->set_s(a.s); break;
        case K::Tensor: p->set_type(onnx::AttributeProto::TENSOR); tensor_to_proto(a.t, "", p->mutable_t()); break;
        case K::Graph: p->set_type(onnx::AttributeProto::GRAPH); graph_to_proto(*a.g, p->mutable_g()); break;
        case K::Floats: p->set_type(onnx::AttributeProto::FLOATS); for (float v : a.floats) p->add_floats(v); break;
        case K::Ints: p->set_type(onnx::AttributeProto::INTS); for (int64_t v : a.ints) p->add_ints(v); break;
        case K::Strings: p->set_type(onnx::AttributeProto::STRINGS); for (const auto& v : a.strings) p->add_strings(v); break;
        case K::Tensors:
            p->set_type(onnx::AttributeProto::TENSORS);
            for (const auto& t : a.tensors) tensor_to_proto(t, "", p->add_tensors());
            break;
        case K::Graphs:
            p->set_type(onnx::AttributeProto::GRAPHS);
            for (const auto& sg : a.graphs) graph_to_proto(*sg, p->add_graphs());
            break;
    }
}

void graph_to_proto(const graph::Graph& g, onnx::GraphProto* gp, const std::string& stub_file) {
    gp->set_name(g.name.empty() ? "main" : g.name);
    for (const auto& n : g.nodes) {
        auto* np = gp->add_node();
        np->set_name(n.name);
        np->set_op_type(n.op_type);
        if (!n.domain.empty()) np->set_domain(n.domain);
        for (const auto& i : n.inputs) np->add_input(i);
        for (const auto& o : n.outputs) np->add_output(o);
        for (const auto& [k, a] : n.attrs) attr_to_proto(k, a, np->add_attribute());
    }
    for (const auto& [k, t] : g.initializers) {
        auto* tp = gp->add_initializer();
        if (stub_file.empty() || t.dtype() == DType::String || t.nbytes() < kMapMinBytes) {
            tensor_to_proto(t, k, tp);
            continue;
        }
        // Dtype and dims only; the data "lives" in an existing file, which is all the checker verifies.
        tp->set_name(k);
        tp->set_data_type(static_cast<int32_t>(t.dtype()));
        for (int64_t d : t.shape()) tp->add_dims(d);
        tp->set_data_location(onnx::TensorProto::EXTERNAL);
        auto* e = tp->add_external_data();
        e->set_key("location");
        e->set_value(stub_file);
    }
    for (const auto& v : g.inputs) value_info_to_proto(v, gp->add_input());
    for (const auto& v : g.outputs) value_info_to_proto(v, gp->add_output());
    for (const auto& [k, v] : g.value_info) {
        // The checker requires a shape on main-graph value infos: entries of unknown rank are left out.
        if (g.is_graph_output(k) || v.dtype == DType::Undefined || !v.has_shape) continue;
        value_info_to_proto(v, gp->add_value_info());
    }
}

}  // namespace

void read_value_infos(const onnx::GraphProto& gp, graph::Graph& g) {
    for (const auto& v : gp.value_info()) g.value_info[v.name()] = value_info_from_proto(v);
    for (int i = 0; i < gp.output_size() && i < (int)g.outputs.size(); ++i) {
        auto vi = value_info_from_proto(gp.output(i));
        if (vi.has_shape && !g.outputs[i].has_shape) g.outputs[i] = vi;
        else if (vi.has_shape) {  // merge: keep known dims
            auto& o = g.outputs[i];
            if (o.dims.size() == vi.dims.size())
                for (size_t d = 0; d < o.dims.size(); ++d)
                    if (!o.dims[d].known() && vi.dims[d].known()) o.dims[d] = vi.dims[d];
        }
        if (g.outputs[i].dtype == DType::Undefined) g.outputs[i].dtype = vi.dtype;
    }
}

graph::Model model_from_proto(const onnx::ModelProto& p, const ExternalDataRoot& root, onnx::ModelProto* release) {
    HQ_CHECK(p.has_graph(), root.label, ": not an ONNX model (no graph)");
    graph::Model m;
    m.ir_version = p.ir_version();
    for (const auto& o : p.opset_import()) m.opsets[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
    m.producer_name = p.producer_name();
    m.producer_version = p.producer_version();
    m.domain = p.domain();
    m.doc = p.doc_string();
    m.model_version = p.model_version();
    for (const auto& kv : p.metadata_props()) m.metadata.emplace_back(kv.key(), kv.value());
    for (const auto& f : p.functions()) m.functions.push_back(f.SerializeAsString());
    m.graph = graph_from_proto(p.graph(), root, 0, release ? release->mutable_graph() : nullptr);
    // Node names unique across scopes too (plans, reports and errors name nodes; subgraphs are often exported
    // with the same names in both branches): a subgraph node whose name an earlier graph uses gets a suffix.
    std::set<std::string> seen;
    graph::for_each_graph(m.graph, [&](graph::Graph& g, int depth) {
        std::set<std::string> here;
        for (const auto& n : g.nodes) here.insert(n.name);
        for (auto& n : g.nodes) {
            if (depth > 0 && seen.count(n.name)) {
                std::string c;
                int k = 1;
                do c = n.name + "_" + std::to_string(k++); while (seen.count(c) || here.count(c));
                n.name = c;
            }
            seen.insert(n.name);
        }
    });
    return m;
}

void model_to_proto(const graph::Model& m, onnx::ModelProto* p, const std::string& stub_file) {
    p->Clear();
    // Initializers are not graph inputs in what we write, which needs IR version 4 or later.
    p->set_ir_version(std::max<int64_t>(m.ir_version, 4));
    for (const auto& [d, v] : m.opsets) {
        auto* o = p->add_opset_import();
        o->set_domain(d);
        o->set_version(v);
    }
    p->set_producer_name(m.producer_name);
    p->set_producer_version(m.producer_version);
    if (!m.domain.empty()) p->set_domain(m.domain);
    if (!m.doc.empty()) p->set_doc_string(m.doc);
    if (m.model_version) p->set_model_version(m.model_version);
    for (const auto& [k, v] : m.metadata) {
        auto* e = p->add_metadata_props();
        e->set_key(k);
        e->set_value(v);
    }
    for (const auto& f : m.functions) p->add_functions()->ParseFromString(f);
    graph_to_proto(m.graph, p->mutable_graph(), stub_file);
}

}  // namespace hq::onnx_io::detail
