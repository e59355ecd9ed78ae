#include "onnx_io/onnx_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/fileio.h"
#include "graph/passes.h"
#include "onnx_io/convert.h"

namespace fs = std::filesystem;

namespace hq::onnx_io {

using detail::ExternalDataRoot;

bool known_domain(const std::string& d) {
    static const std::set<std::string> known = {"",
                                                "ai.onnx",
                                                "ai.onnx.ml",
                                                "ai.onnx.training",
                                                "ai.onnx.preview.training",
                                                "com.microsoft"};
    return known.count(d) != 0;
}

namespace {

bool parse_proto(const std::string& bytes, google::protobuf::MessageLite* msg) {
    google::protobuf::io::ArrayInputStream ais(bytes.data(), (int)std::min<size_t>(bytes.size(), INT_MAX));
    google::protobuf::io::CodedInputStream cis(&ais);
    cis.SetTotalBytesLimit(INT_MAX);
    cis.SetRecursionLimit(64);
    return msg->ParseFromCodedStream(&cis) && cis.ConsumedEntireMessage();
}

// Parses a message straight from the file (no copy of its bytes in memory); errors as read_file's.
bool parse_proto_file(const std::string& path, google::protobuf::MessageLite* msg) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    HQ_CHECK(!ec && fs::exists(st), path, ": no such file");
    HQ_CHECK(!fs::is_directory(st), path, ": is a folder, expected a file");
    if (fs::is_regular_file(st)) {
        auto size = fs::file_size(path, ec);
        HQ_CHECK(ec || size <= (uintmax_t)INT_MAX, path, ": larger than ", INT_MAX, " bytes");
    } else {
        return parse_proto(read_file(path, (size_t)INT_MAX), msg);  // a pipe or device: read_file bounds it
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    HQ_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
    google::protobuf::io::FileInputStream fis(fd);
    fis.SetCloseOnDelete(true);
    google::protobuf::io::CodedInputStream cis(&fis);
    cis.SetTotalBytesLimit(INT_MAX);
    cis.SetRecursionLimit(64);
    bool ok = msg->ParseFromCodedStream(&cis) && cis.ConsumedEntireMessage();
    HQ_CHECK(fis.GetErrno() == 0, path, ": read error");
    return ok;
}

void check_domains(const graph::Graph& g, const graph::Model& m, const std::string& label,
                   const std::set<std::string>& function_domains) {
    for (const auto& n : g.nodes) {
        HQ_CHECK(known_domain(n.domain) || function_domains.count(n.domain), label, ": node '", n.name, "' (",
                 n.op_type, ") uses unknown domain '", n.domain, "'");
        HQ_CHECK(m.opsets.count(n.domain) || function_domains.count(n.domain), label, ": node '", n.name,
                 "' uses domain '", n.domain.empty() ? "ai.onnx" : n.domain, "' with no opset import");
        for (const auto& [k, a] : n.attrs) {
            if (a.g) check_domains(*a.g, m, label, function_domains);
            for (const auto& sg : a.graphs) check_domains(*sg, m, label, function_domains);
        }
    }
}

std::string to_bytes(const onnx::ModelProto& p) {
    std::string out;
    google::protobuf::io::StringOutputStream sos(&out);
    {
        google::protobuf::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        p.SerializeToCodedStream(&cos);
    }
    return out;
}

// "" where Debian's libonnx (checker, shape inference) knows the model's IR version and the version of every
// standard domain it imports; else why not. Its checker refuses newer models outright, and its shape inference
// would apply older schemas to newer ops (ReduceMean-13 rules to a ReduceMean-18 node).
std::string libonnx_gap(const onnx::ModelProto& p) {
    if (p.ir_version() > onnx::Version::IR_VERSION)
        return "IR version " + std::to_string(p.ir_version()) + " > " + std::to_string(onnx::Version::IR_VERSION);
    const auto& known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    for (const auto& o : p.opset_import()) {
        std::string d = o.domain() == "ai.onnx" ? "" : o.domain();
        auto it = known.find(d);
        if (it == known.end()) continue;  // com.microsoft, function domains: libonnx has no schemas, checks nothing
        if (o.version() > it->second.second)
            return "opset " + std::to_string(o.version()) + " of '" + (d.empty() ? "ai.onnx" : d) + "' > " +
                   std::to_string(it->second.second);
    }
    return "";
}

// Where model_to_proto may point stub initializers for the checker and shape inference (empty: inline the weights,
// which copies them). libonnx before 1.13 accepts any existing file, absolute too; later ones only relative paths
// without "..", which resolve against the working directory when the checker is given a ModelProto.
std::string stub_file_for(const std::string& model_path) {
    std::error_code ec;
    if (model_path.empty() || !fs::is_regular_file(model_path, ec)) return "";
    fs::path abs = fs::absolute(model_path, ec);
    if (ec) return "";
    const std::string v = ONNX_NAMESPACE::LAST_RELEASE_VERSION;
    if (v.rfind("1.", 0) == 0 && v.size() > 3 && std::atoi(v.c_str() + 2) <= 12) return abs.string();
    fs::path rel = fs::relative(abs, fs::current_path(ec), ec);
    if (ec || rel.empty() || rel.is_absolute()) return "";
    for (const auto& part : rel)
        if (part == "..") return "";
    return rel.string();
}

void run_checker(const onnx::ModelProto& p, const std::string& label, bool full) {
    if (std::string gap = libonnx_gap(p); !gap.empty()) {
        spdlog::debug("{}: ONNX checker{} skipped: libonnx {} does not know this model ({}); hyquant's own structural "
                      "checks apply", label, full ? " and shape inference" : "", ONNX_NAMESPACE::LAST_RELEASE_VERSION,
                      gap);
        return;
    }
    try {
        onnx::checker::check_model(p);
        if (full) {
            onnx::ModelProto copy = p;
            onnx::ShapeInferenceOptions opts(/*check_type=*/true, /*strict=*/1, /*data_prop=*/false);
            onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), opts);
        }
    } catch (const std::exception& e) {
        std::string msg = e.what();
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        for (auto& c : msg)
            if (c == '\n') c = ' ';
        HQ_FAIL(label, ": fails the ONNX checker: ", msg);
    }
}

}  // namespace

namespace {

// `p` parsed from `label`. `release_raw` (only where stub_file_for(label) is set): initializers' raw data is freed
// from `p` as it is converted, and the checker sees the model with weight stubs.
graph::Model model_from_parsed(onnx::ModelProto& p, const std::string& dir, const std::string& label,
                               const LoadOptions& opt, bool release_raw) {
    HQ_CHECK(p.has_graph() && p.opset_import_size() > 0, label,
             ": not an ONNX model (no graph or no opset import)");
    std::set<std::string> function_domains;
    for (const auto& f : p.functions()) function_domains.insert(f.domain());
    // Tensors are converted (and external data resolved safely) before the checker sees the model.
    graph::Model m = detail::model_from_proto(p, ExternalDataRoot{dir, label}, release_raw ? &p : nullptr);
    m.source_path = label;
    check_domains(m.graph, m, label, function_domains);
    // An unknown domain that no node uses (ONNX Runtime's internal ones, com.ms.internal.nhwc, which some exports
    // import for nothing) is dropped; one a node uses is check_domains' error above.
    for (auto it = m.opsets.begin(); it != m.opsets.end();) {
        if (known_domain(it->first) || function_domains.count(it->first)) {
            ++it;
            continue;
        }
        spdlog::debug("{}: unused opset import '{}' dropped", label, it->first);
        it = m.opsets.erase(it);
    }
    graph::check_structure(m.graph, label);
    // Exporters do not always write nodes in order (ONNX Runtime sorts them too); a cycle is an error naming a node.
    std::vector<std::string> order;
    for (const auto& n : m.graph.nodes) order.push_back(n.name);
    try {
        graph::topo_sort(m.graph);
    } catch (const Error& e) {
        HQ_FAIL(label, ": ", e.what());
    }
    bool reordered = false;
    for (size_t i = 0; i < order.size(); ++i) reordered |= m.graph.nodes[i].name != order[i];
    if (reordered) spdlog::debug("{}: nodes were not in topological order; sorted", label);
    if (opt.check) {
        // The checker resolves external data paths itself and wants sorted nodes: give it the model as loaded
        // (data inline, nodes sorted) where the file differs from that.
        bool has_external = false;
        for (const auto& t : p.graph().initializer())
            has_external |= t.data_location() == onnx::TensorProto::EXTERNAL;
        if (has_external || reordered || release_raw) {
            onnx::ModelProto inl;
            detail::model_to_proto(m, &inl, stub_file_for(label));
            run_checker(inl, label, false);
        } else {
            run_checker(p, label, false);
        }
    }
    if (opt.lift_constants) graph::lift_constants(m);
    return m;
}

}  // namespace

graph::Model parse_model(const std::string& bytes, const std::string& dir, const std::string& label,
                         const LoadOptions& opt) {
    onnx::ModelProto p;
    HQ_CHECK(parse_proto(bytes, &p), label, ": not a valid ONNX protobuf (corrupt or truncated)");
    return model_from_parsed(p, dir, label, opt, false);
}

graph::Model load_model(const std::string& path, const LoadOptions& opt) {
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    onnx::ModelProto p;
    // Parsed from the file, without its bytes in memory; then one copy of each weight at a time (model_from_parsed).
    HQ_CHECK(parse_proto_file(path, &p), path, ": not a valid ONNX protobuf (corrupt or truncated)");
    return model_from_parsed(p, dir.string(), path, opt, !stub_file_for(path).empty());
}

std::string serialize_model(const graph::Model& m) {
    onnx::ModelProto p;
    detail::model_to_proto(m, &p);
    return to_bytes(p);
}

void check_model(const graph::Model& m, const std::string& label) {
    graph::check_structure(m.graph, label);
    onnx::ModelProto p;
    detail::model_to_proto(m, &p);
    run_checker(p, label, true);
}

void save_model(const graph::Model& m, const std::string& path) {
    check_writable(path);
    graph::check_structure(m.graph, path + " (model being written)");
    onnx::ModelProto p;
    detail::model_to_proto(m, &p);
    run_checker(p, path + " (model being written)", true);
    size_t total = 0;
    for (const auto& t : p.graph().initializer()) total += t.raw_data().size();
    AtomicWriteSet w;
    const size_t kLimit = (size_t)1 << 31;
    if (total + 64 * 1024 * 1024 < kLimit) {
        w.add(path, to_bytes(p));
        w.commit();
        return;
    }
    // Weights go to <file>.data, 4 KiB aligned, each large initializer referencing its range.
    std::string data_name = fs::path(path).filename().string() + ".data";
    std::string data_path = (fs::path(path).parent_path() / data_name).string();
    w.add(data_path, [&](std::FILE* f) {
        size_t offset = 0;
        for (auto& t : *p.mutable_graph()->mutable_initializer()) {
            if (t.raw_data().size() < 1024) continue;
            size_t pad = (4096 - offset % 4096) % 4096;
            static const char zeros[4096] = {};
            if (pad) std::fwrite(zeros, 1, pad, f);
            offset += pad;
            const std::string& raw = t.raw_data();
            HQ_CHECK(std::fwrite(raw.data(), 1, raw.size(), f) == raw.size(), data_path, ": write failed");
            t.set_data_location(onnx::TensorProto::EXTERNAL);
            auto add = [&](const char* k, const std::string& v) {
                auto* e = t.add_external_data();
                e->set_key(k);
                e->set_value(v);
            };
            add("location", data_name);
            add("offset", std::to_string(offset));
            add("length", std::to_string(raw.size()));
            offset += raw.size();
            t.clear_raw_data();
        }
    });
    w.add(path, to_bytes(p));
    w.commit();
}

void infer_shapes(graph::Model& m) {
    onnx::ModelProto p;
    detail::model_to_proto(m, &p, stub_file_for(m.source_path));
    if (std::string gap = libonnx_gap(p); !gap.empty()) {
        spdlog::debug("shape inference skipped: libonnx {} does not know this model ({}); shapes come from the "
                      "model's own value infos", ONNX_NAMESPACE::LAST_RELEASE_VERSION, gap);
        return;
    }
    try {
        onnx::ShapeInferenceOptions opts(false, 0, true);
        onnx::shape_inference::InferShapes(p, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
        spdlog::debug("shape inference stopped early: {}", e.what());
    }
    detail::read_value_infos(p.graph(), m.graph);
}

Tensor read_tensor_pb(const std::string& path, std::string* name) {
    std::string bytes = read_file(path, (size_t)INT_MAX);
    onnx::TensorProto t;
    HQ_CHECK(parse_proto(bytes, &t), path, ": not a valid TensorProto file");
    if (name) *name = t.name();
    fs::path dir = fs::path(path).parent_path();
    return detail::tensor_from_proto(t, ExternalDataRoot{dir.empty() ? "." : dir.string(), path});
}

void write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
    onnx::TensorProto p;
    detail::tensor_to_proto(t, name, &p);
    write_file_atomic(path, p.SerializeAsString());
}

}  // namespace hq::onnx_io
