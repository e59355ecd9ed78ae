// Model I/O: round trips, constant lifting, and every class of bad file the loader must refuse cleanly.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fileio.h"
#include "onnx_io/onnx_io.h"
#include "tests/unit/builder.h"

namespace fs = std::filesystem;
using namespace hq;

namespace {

fs::path temp_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("hq_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Relu(x + W) with W an initializer, in protobuf form so tests can break it in specific ways.
onnx::ModelProto relu_model_proto() {
    onnx::ModelProto p;
    p.set_ir_version(8);
    auto* op = p.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    auto* g = p.mutable_graph();
    g->set_name("g");
    auto* in = g->add_input();
    in->set_name("x");
    in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
    auto* out = g->add_output();
    out->set_name("y");
    out->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
    auto* w = g->add_initializer();
    w->set_name("W");
    w->set_data_type(1);
    w->add_dims(4);
    float vals[4] = {1, -2, 3, -4};
    w->set_raw_data(vals, sizeof vals);
    auto* add = g->add_node();
    add->set_op_type("Add");
    add->set_name("add0");
    add->add_input("x");
    add->add_input("W");
    add->add_output("s");
    auto* relu = g->add_node();
    relu->set_op_type("Relu");
    relu->set_name("relu0");
    relu->add_input("s");
    relu->add_output("y");
    return p;
}

void write(const fs::path& f, const std::string& bytes) {
    std::ofstream o(f, std::ios::binary);
    o << bytes;
}

}  // namespace

TEST_CASE("load a valid model and save it back identically", "[onnx_io]") {
    auto d = temp_dir("roundtrip");
    write(d / "m.onnx", relu_model_proto().SerializeAsString());
    graph::Model m = onnx_io::load_model((d / "m.onnx").string());
    REQUIRE(m.graph.nodes.size() == 2);
    REQUIRE(m.graph.inputs.size() == 1);
    CHECK(m.graph.initializers.at("W").to_f32() == std::vector<float>{1, -2, 3, -4});
    onnx_io::save_model(m, (d / "out.onnx").string());
    graph::Model m2 = onnx_io::load_model((d / "out.onnx").string());
    CHECK(onnx_io::serialize_model(m) == onnx_io::serialize_model(m2));
    // nothing but the two models in the folder: no temporaries left behind
    int files = 0;
    for (auto& e : fs::directory_iterator(d)) files += e.is_regular_file();
    CHECK(files == 2);
}

TEST_CASE("Constant nodes are lifted to initializers", "[onnx_io]") {
    auto p = relu_model_proto();
    auto* g = p.mutable_graph();
    onnx::TensorProto w = g->initializer(0);
    g->clear_initializer();
    auto* c = g->add_node();
    c->set_op_type("Constant");
    c->add_output("W");
    auto* a = c->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = w;
    for (int i = g->node_size() - 1; i > 0; --i) g->mutable_node()->SwapElements(i, i - 1);  // Constant first
    auto d = temp_dir("lift");
    write(d / "m.onnx", p.SerializeAsString());
    graph::Model m = onnx_io::load_model((d / "m.onnx").string());
    CHECK(m.graph.nodes.size() == 2);
    CHECK(m.graph.is_initializer("W"));
}

TEST_CASE("bad model files fail with a message naming the file", "[onnx_io]") {
    auto d = temp_dir("bad");
    std::string good = relu_model_proto().SerializeAsString();
    auto expect_bad = [&](const std::string& file, const std::string& bytes, const std::string& needle) {
        write(d / file, bytes);
        std::string path = (d / file).string();
        try {
            onnx_io::load_model(path);
            FAIL("loaded " << file);
        } catch (const Error& e) {
            CHECK(e.exit_code() == 2);
            CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains(needle));
        }
    };
    expect_bad("trunc.onnx", good.substr(0, good.size() - 7), "");
    expect_bad("text.onnx", "this is not a protobuf at all\n", "");
    expect_bad("empty.onnx", "", "not an ONNX model");
    auto p = relu_model_proto();
    p.mutable_graph()->mutable_node(1)->set_domain("com.example.custom");
    expect_bad("domain.onnx", p.SerializeAsString(), "com.example.custom");
    p = relu_model_proto();
    p.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
    expect_bad("dangling.onnx", p.SerializeAsString(), "nowhere");
    p = relu_model_proto();
    p.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
    expect_bad("checker.onnx", p.SerializeAsString(), "checker");
    p = relu_model_proto();
    p.mutable_graph()->mutable_initializer(0)->set_raw_data("abc");
    expect_bad("rawsize.onnx", p.SerializeAsString(), "raw data");
    p = relu_model_proto();
    p.mutable_graph()->mutable_initializer(0)->set_dims(0, 1LL << 50);
    expect_bad("huge.onnx", p.SerializeAsString(), "W");
    CHECK_THROWS_WITH(onnx_io::load_model((d / "missing.onnx").string()), Catch::Contains("missing.onnx"));
    CHECK_THROWS_WITH(onnx_io::load_model(d.string()), Catch::Contains("folder"));
}

TEST_CASE("external data must stay inside the model's folder", "[onnx_io]") {
    auto root = temp_dir("ext");
    fs::create_directories(root / "model");
    float vals[4] = {1, -2, 3, -4};
    write(root / "model" / "w.bin", std::string((const char*)vals, sizeof vals));
    write(root / "secret.bin", std::string((const char*)vals, sizeof vals));
    fs::create_symlink(root / "secret.bin", root / "model" / "link.bin");
    auto with_location = [&](const std::string& loc, int64_t offset = 0) {
        auto p = relu_model_proto();
        auto* w = p.mutable_graph()->mutable_initializer(0);
        w->clear_raw_data();
        w->set_data_location(onnx::TensorProto::EXTERNAL);
        auto* e = w->add_external_data();
        e->set_key("location");
        e->set_value(loc);
        if (offset) {
            auto* o = w->add_external_data();
            o->set_key("offset");
            o->set_value(std::to_string(offset));
        }
        write(root / "model" / "m.onnx", p.SerializeAsString());
        return (root / "model" / "m.onnx").string();
    };
    graph::Model m = onnx_io::load_model(with_location("w.bin"));
    CHECK(m.graph.initializers.at("W").to_f32() == std::vector<float>{1, -2, 3, -4});
    CHECK_THROWS_WITH(onnx_io::load_model(with_location("../secret.bin")), Catch::Contains("leaves the model's folder"));
    CHECK_THROWS_WITH(onnx_io::load_model(with_location((root / "secret.bin").string())), Catch::Contains("absolute"));
    CHECK_THROWS_WITH(onnx_io::load_model(with_location("link.bin")), Catch::Contains("outside the model's folder"));
    CHECK_THROWS_WITH(onnx_io::load_model(with_location("nope.bin")), Catch::Contains("not found"));
    CHECK_THROWS_WITH(onnx_io::load_model(with_location("w.bin", 8)), Catch::Contains("length"));
}

TEST_CASE("saving an invalid model writes nothing", "[onnx_io]") {
    auto d = temp_dir("nosave");
    graph::Model m = test::model();
    m.graph.inputs.push_back(test::value("x", {4}));
    m.graph.outputs.push_back(test::value("y", {4}));
    m.graph.nodes.push_back(test::node("NotAnOnnxOp", {"x"}, {"y"}));
    CHECK_THROWS_AS(onnx_io::save_model(m, (d / "bad.onnx").string()), Error);
    CHECK(fs::is_empty(d));
    CHECK_THROWS_WITH(onnx_io::save_model(m, (d / "no" / "such" / "dir.onnx").string()), Catch::Contains("does not exist"));
}

TEST_CASE("tensor .pb files round trip", "[onnx_io]") {
    auto d = temp_dir("pb");
    Tensor t = Tensor::from_i64({2, 2}, {1, 2, 3, -4});
    onnx_io::write_tensor_pb(t, "x", (d / "t.pb").string());
    std::string name;
    Tensor r = onnx_io::read_tensor_pb((d / "t.pb").string(), &name);
    CHECK(name == "x");
    CHECK(r.to_i64() == t.to_i64());
}

TEST_CASE("IR 10 / opset 21 models load without libonnx's checker; the structural checks still run", "[onnx_io]") {
    auto d = temp_dir("newir");
    auto p = relu_model_proto();
    p.set_ir_version(10);
    p.mutable_opset_import(0)->set_version(21);
    write(d / "m.onnx", p.SerializeAsString());
    graph::Model m = onnx_io::load_model((d / "m.onnx").string());
    CHECK(m.ir_version == 10);
    CHECK(m.opset() == 21);
    onnx_io::save_model(m, (d / "out.onnx").string());  // written as it came: IR 10, opset 21
    onnx::ModelProto back;
    std::ifstream in(d / "out.onnx", std::ios::binary);
    REQUIRE(back.ParseFromIstream(&in));
    CHECK(back.ir_version() == 10);
    CHECK(back.opset_import(0).version() == 21);
    // The structural checks do not depend on the checker: a second producer of 's' is refused at IR 10 too.
    auto* dup = p.mutable_graph()->add_node();
    dup->set_op_type("Neg");
    dup->set_name("dup");
    dup->add_input("x");
    dup->add_output("s");
    write(d / "dup.onnx", p.SerializeAsString());
    CHECK_THROWS_WITH(onnx_io::load_model((d / "dup.onnx").string()),
                      Catch::Contains("dup.onnx") && Catch::Contains("'dup'") && Catch::Contains("add0"));
}

TEST_CASE("nodes out of order are sorted on load, also where the checker runs", "[onnx_io]") {
    auto d = temp_dir("unsorted");
    auto p = relu_model_proto();  // IR 8, opset 13: libonnx's checker runs, and it wants sorted nodes
    p.mutable_graph()->mutable_node()->SwapElements(0, 1);
    write(d / "m.onnx", p.SerializeAsString());
    graph::Model m = onnx_io::load_model((d / "m.onnx").string());
    REQUIRE(m.graph.nodes.size() == 2);
    CHECK(m.graph.nodes[0].name == "add0");
    CHECK(m.graph.nodes[1].name == "relu0");
}

TEST_CASE("element types hyquant does not support are exit 2 naming the tensor", "[onnx_io]") {
    auto d = temp_dir("f8");
    auto p = relu_model_proto();
    p.set_ir_version(10);
    p.mutable_opset_import(0)->set_version(21);
    p.mutable_graph()->mutable_initializer(0)->set_data_type(17);  // FLOAT8E4M3FN
    p.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(4, '\1'));
    write(d / "w.onnx", p.SerializeAsString());
    try {
        onnx_io::load_model((d / "w.onnx").string());
        FAIL("loaded a float8 initializer");
    } catch (const Error& e) {
        CHECK(e.exit_code() == 2);
        CHECK_THAT(e.what(), Catch::Contains("'W'") && Catch::Contains("FLOAT8E4M3FN"));
    }
    p = relu_model_proto();
    p.set_ir_version(10);
    p.mutable_opset_import(0)->set_version(21);
    p.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(22);  // INT4
    write(d / "o.onnx", p.SerializeAsString());
    CHECK_THROWS_WITH(onnx_io::load_model((d / "o.onnx").string()),
                      Catch::Contains("output 'y'") && Catch::Contains("INT4"));
}

TEST_CASE("duplicate node names are made unique on load", "[onnx_io]") {
    auto d = temp_dir("dupname");
    auto p = relu_model_proto();
    p.mutable_graph()->mutable_node(1)->set_name("add0");
    write(d / "m.onnx", p.SerializeAsString());
    graph::Model m = onnx_io::load_model((d / "m.onnx").string());
    REQUIRE(m.graph.nodes.size() == 2);
    CHECK(m.graph.nodes[0].name == "add0");
    CHECK(m.graph.nodes[1].name != "add0");
}

TEST_CASE("large external data is memory-mapped where aligned, read where not; the file never changes", "[onnx_io]") {
    auto root = temp_dir("ext_map");
    const int64_t n = 40000;  // 160 000 bytes: above the mapping threshold
    std::vector<float> vals(n);
    for (int64_t i = 0; i < n; ++i) vals[i] = (float)(i % 97) - 48.0f;
    std::string blob(8192, '\0');
    blob.append((const char*)vals.data(), n * sizeof(float));
    write(root / "w.bin", blob);
    auto model_at = [&](int64_t offset) {
        auto p = relu_model_proto();
        auto* g = p.mutable_graph();
        g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(n);
        g->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(n);
        auto* w = g->mutable_initializer(0);
        w->clear_raw_data();
        w->set_dims(0, n);
        w->set_data_location(onnx::TensorProto::EXTERNAL);
        for (auto [k, v] : {std::pair<std::string, std::string>{"location", "w.bin"},
                            {"offset", std::to_string(offset)},
                            {"length", std::to_string(n * sizeof(float))}}) {
            auto* e = w->add_external_data();
            e->set_key(k);
            e->set_value(v);
        }
        // The data sits at 8192 in w.bin; other offsets get a copy of the file shifted to match.
        std::string shifted = std::string((size_t)offset, '\0') + blob.substr(8192);
        write(root / "w.bin", shifted);
        write(root / "m.onnx", p.SerializeAsString());
        return (root / "m.onnx").string();
    };
    for (int64_t offset : {8192, 64, 4100}) {
        INFO("offset " << offset);
        graph::Model m = onnx_io::load_model(model_at(offset));
        Tensor w = m.graph.initializers.at("W");
        CHECK(reinterpret_cast<uintptr_t>(w.raw()) % 64 == 0);
        CHECK(w.to_f32() == vals);
        onnx_io::infer_shapes(m);  // stubs for the weights; the output shape still comes out
        REQUIRE(m.graph.outputs[0].static_shape());
        CHECK(*m.graph.outputs[0].static_shape() == Shape{n});
        w.data<float>()[0] = 1234.0f;  // copy-on-write: the file keeps its bytes
        std::string after = read_file((root / "w.bin").string(), (size_t)1 << 30);
        float first;
        std::memcpy(&first, after.data() + offset, sizeof first);
        CHECK(first == vals[0]);
        onnx_io::save_model(m, (root / "out.onnx").string());
        CHECK(onnx_io::load_model((root / "out.onnx").string()).graph.initializers.at("W").data<float>()[0] == 1234.0f);
    }
    // A range past the end of the file is still exit 2 naming the tensor.
    std::string path = model_at(8192);
    fs::resize_file(root / "w.bin", 8192 + 1000);
    CHECK_THROWS_WITH(onnx_io::load_model(path), Catch::Contains("tensor 'W'") && Catch::Contains("exceeds"));
    fs::remove_all(root);
}
