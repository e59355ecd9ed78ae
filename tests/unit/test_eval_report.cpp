// The accuracy report: JSON keys and round trip, non-finite numbers, Markdown verdicts, HTML charts
// and escaping, and the atomic writer.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <unistd.h>

#include "core/error.h"
#include "report/eval_report.h"
#include "report/svg.h"

using namespace hq;
using namespace hq::report;
namespace fs = std::filesystem;

namespace {

size_t count(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
    return n;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

AccuracySummary sample_summary(bool with_steps = true) {
    AccuracySummary s;
    s.reference = "models/ref.onnx";
    s.candidate = "out/q.onnx";
    s.data = "eval";
    s.labels = "eval_labels.txt";
    s.command = "hyquant evaluate models/ref.onnx out/q.onnx --data eval";
    s.samples = 96;
    s.outputs.push_back({"softmax_0.tmp_0", 0.99991, 32.4, 0.031, 0.0042, 98.5});
    s.outputs.push_back({"aux", 1.0, 200, 0, 0, std::nullopt});
    s.reference_accuracy = 98.96;
    s.candidate_accuracy = 97.92;
    s.budget_metric = "label accuracy drop (points)";
    s.drop = 1.04;
    s.max_drop = 1.0;
    s.budget_ok = false;
    const char* ops[] = {"Conv", "Conv", "Gemm", "MatMul"};
    const char* prec[] = {"int8", "fp16", "int8", "fp32"};
    for (int i = 0; i < 14; ++i) {
        LayerMetrics l;
        l.node = "conv_" + std::to_string(i);
        l.op_type = ops[i % 4];
        l.tensor = l.node + "_out";
        l.precision = prec[i % 4];
        l.sqnr_db = 18 + 3.5 * i;
        l.added_sqnr_db = 25 + 4.0 * i;
        l.inherited_sqnr_db = 40;
        if (l.precision == "int8") {
            l.input_scale = 0.0123f;
            l.input_zero_point = 128;
        }
        l.sensitivity_db = 33.0 + i;
        l.sparsity = 0.05;
        s.layers.push_back(l);
    }
    s.layers[0].node = "p2o.Conv<0> & \"x\"";  // characters that need escaping
    for (int k = 0; k < 3; ++k) {
        HistogramData h;
        h.tensor = "t" + std::to_string(k);
        h.lo = -4;
        h.hi = 4;
        for (int b = 0; b < 256; ++b) h.counts.push_back((uint64_t)(1000 * std::exp(-((b - 128) * (b - 128)) / 800.0)));
        h.clip_lo = -2.5;
        h.clip_hi = 3.0;
        s.histograms.push_back(h);
    }
    if (with_steps) {
        s.steps.push_back({0, "start: sensitivity-ranked plan", 40, 0, 0, 2.1, false});
        s.steps.push_back({1, "conv_0 int8 -> fp16", 39, 1, 0, 1.04, false});
        s.steps.push_back({2, "conv_4 int8 -> fp16", 38, 2, 0, 0.0, true});
    }
    s.notes.push_back("evaluated on the CPU executor");
    return s;
}

}  // namespace

TEST_CASE("accuracy JSON round-trips with its stable keys", "[report]") {
    const auto s = sample_summary();
    auto j = nlohmann::ordered_json::parse(accuracy_json(s));
    CHECK(j["schema"] == 1);
    CHECK(j["kind"] == "evaluate");
    CHECK(j["tool"].get<std::string>().rfind("hyquant ", 0) == 0);
    for (const char* k : {"reference", "candidate", "data", "labels", "command", "samples", "outputs",
                          "reference_accuracy", "candidate_accuracy", "accuracy", "budget", "layers", "histograms",
                          "search_steps", "notes"})
        CHECK(j.contains(k));
    CHECK(j["samples"] == 96);
    REQUIRE(j["outputs"].size() == 2);
    CHECK(j["outputs"][0]["name"] == "softmax_0.tmp_0");
    CHECK(j["outputs"][0]["sqnr_db"].get<double>() == Approx(32.4));
    CHECK(j["outputs"][0]["top1_agreement"].get<double>() == Approx(98.5));
    CHECK(j["outputs"][1]["top1_agreement"].is_null());
    CHECK(j["accuracy"]["reference"].get<double>() == Approx(98.96));
    CHECK(j["accuracy"]["candidate"].get<double>() == Approx(97.92));
    CHECK(j["accuracy"]["drop_points"].get<double>() == Approx(1.04));
    CHECK(j["budget"]["metric"] == "label accuracy drop (points)");
    CHECK(j["budget"]["max_drop"].get<double>() == Approx(1.0));
    CHECK(j["budget"]["ok"] == false);
    REQUIRE(j["layers"].size() == 14);
    CHECK(j["layers"][0]["node"] == "p2o.Conv<0> & \"x\"");  // order kept, text unescaped
    CHECK(j["layers"][0]["input_zero_point"] == 128);
    CHECK(j["layers"][1]["input_scale"].is_null());
    for (const char* k : {"node", "op_type", "tensor", "precision", "sqnr_db", "added_sqnr_db", "inherited_sqnr_db",
                          "input_scale", "input_zero_point", "sensitivity_db", "sparsity"})
        CHECK(j["layers"][3].contains(k));
    REQUIRE(j["histograms"].size() == 3);
    CHECK(j["histograms"][0]["counts"].size() == 256);
    CHECK(j["histograms"][0]["clip_lo"].get<double>() == -2.5);
    REQUIRE(j["search_steps"].size() == 3);
    CHECK(j["search_steps"][2]["within_budget"] == true);
    CHECK(j["search_steps"][1]["action"] == "conv_0 int8 -> fp16");
    CHECK(j["notes"][0] == "evaluated on the CPU executor");
    // Stable: same summary, same bytes.
    CHECK(accuracy_json(s) == accuracy_json(sample_summary()));
}

TEST_CASE("accuracy JSON without labels or budget has nulls, not missing keys", "[report]") {
    AccuracySummary s;
    s.reference = "a.onnx";
    s.candidate = "b.onnx";
    auto j = nlohmann::json::parse(accuracy_json(s));
    CHECK(j["accuracy"].is_null());
    CHECK(j["labels"].is_null());
    CHECK(j["reference_accuracy"].is_null());
    CHECK(j["budget"]["drop"].is_null());
    CHECK(j["budget"]["max_drop"].is_null());
    CHECK(j["budget"]["ok"] == true);
    CHECK(j["layers"].is_array());
    CHECK(j["layers"].empty());
    CHECK(j["search_steps"].empty());
}

TEST_CASE("non-finite numbers give valid JSON, Markdown and HTML", "[report]") {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    auto s = sample_summary();
    s.outputs[0].cosine = nan;
    s.outputs[0].sqnr_db = inf;
    s.outputs[0].max_abs = inf;
    s.outputs[1].sqnr_db = -inf;
    s.layers[0].sqnr_db = nan;
    s.layers[1].added_sqnr_db = inf;
    s.layers[2].sqnr_db = -inf;
    s.layers[3].sparsity = nan;
    s.drop = nan;
    s.histograms[0].lo = -inf;
    s.histograms[1].clip_hi = nan;
    s.steps[0].metric = inf;
    s.steps[1].metric = nan;
    s.layers[4].node = std::string("bad\xff\xfe utf8");  // not UTF-8
    const std::string text = accuracy_json(s);
    nlohmann::json j;
    REQUIRE_NOTHROW(j = nlohmann::json::parse(text));
    CHECK(text.find("NaN") == std::string::npos);
    CHECK(text.find("Infinity") == std::string::npos);
    CHECK(j["outputs"][0]["cosine"].is_null());
    CHECK(j["outputs"][0]["sqnr_db"].get<double>() == 200);  // capped like exact outputs
    CHECK(j["outputs"][1]["sqnr_db"].get<double>() == -200);
    CHECK(j["outputs"][0]["max_abs"].is_null());
    CHECK(j["layers"][0]["sqnr_db"].is_null());
    CHECK(j["layers"][1]["added_sqnr_db"].get<double>() == 200);
    CHECK(j["layers"][3]["sparsity"].is_null());
    CHECK(j["budget"]["drop"].is_null());
    CHECK(j["histograms"][0]["lo"].is_null());
    CHECK(j["search_steps"][0]["metric"].is_null());

    const std::string html = accuracy_html(s);
    // No "nan"/"inf" leaks into SVG coordinates: every numeric attribute is a plain number.
    const std::regex attr(R"re(\b(x|y|x1|y1|x2|y2|cx|cy|r|width|height|points)="([^"]*)")re");
    const std::regex number(R"(-?[0-9]+(\.[0-9]+)?([ ,]-?[0-9]+(\.[0-9]+)?)*)");
    size_t attrs = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), attr); it != std::sregex_iterator(); ++it, ++attrs)
        CHECK(std::regex_match((*it)[2].str(), number));
    CHECK(attrs > 500);
    CHECK(html.find("\xff") == std::string::npos);
    CHECK_NOTHROW(accuracy_markdown(s));
}

TEST_CASE("accuracy Markdown has the verdict and the tables", "[report]") {
    auto s = sample_summary();
    std::string md = accuracy_markdown(s);
    CHECK(md.find("❌ budget broken: label accuracy drop (points) 1.04 > 1.00") != std::string::npos);
    CHECK(md.find("| 98.96 | 97.92 | 1.04 |") != std::string::npos);
    CHECK(md.find("`softmax_0.tmp_0`") != std::string::npos);
    CHECK(md.find("### Worst layers (10 of 14)") != std::string::npos);
    CHECK(md.find("`conv_9`") != std::string::npos);
    CHECK(md.find("`conv_10`") == std::string::npos);  // only the 10 worst
    CHECK(md.find("conv_4 int8 -> fp16") != std::string::npos);
    CHECK(md.find("> evaluated on the CPU executor") != std::string::npos);

    s.budget_ok = true;
    s.drop = 0.5;
    md = accuracy_markdown(s);
    CHECK(md.find("✅ within budget: label accuracy drop (points) 0.50 ≤ 1.00") != std::string::npos);

    s.max_drop.reset();
    s.steps.clear();
    s.layers.clear();
    s.layers.push_back({});
    s.layers[0].node = "a|b";
    md = accuracy_markdown(s);
    CHECK(md.find("no accuracy budget set") != std::string::npos);
    CHECK(md.find("Accuracy-budget search") == std::string::npos);
    CHECK(md.find("`a\\|b`") != std::string::npos);  // pipes cannot break the table
}

TEST_CASE("accuracy HTML is self-contained with one SVG per chart and escaped names", "[report]") {
    auto s = sample_summary();
    std::string html = accuracy_html(s);
    // SQNR + precision + search + 3 histograms
    CHECK(count(html, "<svg") == 6);
    CHECK(count(html, "</svg>") == 6);
    CHECK(count(html, "<svg") == count(html, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""));
    // every chart has a <title> right after its opening tag
    for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) {
        size_t close = html.find('>', p);
        CHECK(html.compare(close + 1, 7, "<title>") == 0);
    }
    CHECK(html.find("p2o.Conv&lt;0&gt; &amp; &quot;x&quot;") != std::string::npos);
    CHECK(html.find("p2o.Conv<0>") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("budget broken") != std::string::npos);
    CHECK(html.find("30 dB") != std::string::npos);
    CHECK(html.find("int8 (7 layers)") != std::string::npos);
    CHECK(html.find("fp16 (4 layers)") != std::string::npos);
    CHECK(html.find("fp32 (3 layers)") != std::string::npos);

    s.steps.clear();
    CHECK(count(accuracy_html(s), "<svg") == 5);

    AccuracySummary empty;
    html = accuracy_html(empty);
    CHECK(count(html, "<svg") == 0);
    CHECK(html.find("no layers compared") != std::string::npos);
    CHECK(html.find("no outputs compared") != std::string::npos);
    CHECK(html.find("</html>") != std::string::npos);

    // Many layers: the charts keep a bounded number of bars and say so.
    AccuracySummary big;
    for (int i = 0; i < 500; ++i) {
        LayerMetrics l;
        l.node = "n" + std::to_string(i);
        l.precision = "int8";
        l.sqnr_db = l.added_sqnr_db = 20 + i * 0.1;
        big.layers.push_back(l);
    }
    html = accuracy_html(big);
    CHECK(count(html, "<svg") == 2);
    CHECK(html.find("the 120 worst of 500") != std::string::npos);
    CHECK(html.find("int8 (500 layers)") != std::string::npos);
}

TEST_CASE("svg helpers escape, format and scale", "[report]") {
    CHECK(svg::escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
    CHECK(svg::escape("é→") == "é→");
    CHECK(svg::escape(std::string("x\xff")) == "x\xEF\xBF\xBD");
    CHECK(svg::num(12.50) == "12.5");
    CHECK(svg::num(-0.0001) == "0");
    CHECK(svg::num(std::nan("")) == "0");
    svg::Scale sc{0, 10, 100, 0};
    CHECK(sc(5) == Approx(50));
    CHECK(sc(20) == Approx(0));  // clamped
    auto t = svg::nice_ticks(0, 47, 5);
    REQUIRE(t.size() == 5);
    CHECK(t[1] == Approx(10));
    CHECK(t.back() == Approx(40));
}

TEST_CASE("write_accuracy_reports writes by extension, atomically", "[report]") {
    fs::path dir = fs::temp_directory_path() / ("hq_eval_report_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto s = sample_summary();
    write_accuracy_reports(s, {(dir / "r.json").string(), (dir / "r.md").string(), (dir / "r.html").string()});
    CHECK(slurp(dir / "r.json") == accuracy_json(s));
    CHECK(slurp(dir / "r.md") == accuracy_markdown(s));
    CHECK(slurp(dir / "r.html") == accuracy_html(s));
    size_t files = 0;
    for (auto& e : fs::directory_iterator(dir)) {
        ++files;
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    }
    CHECK(files == 3);

    // An unknown extension names the path, and nothing at all is written.
    fs::path dir2 = dir / "second";
    fs::create_directories(dir2);
    try {
        write_accuracy_reports(s, {(dir2 / "a.json").string(), (dir2 / "a.pdf").string()});
        FAIL("no error for .pdf");
    } catch (const hq::Error& e) {
        CHECK(std::string(e.what()).find("a.pdf: unknown format (use .json, .md or .html)") != std::string::npos);
        CHECK(e.exit_code() == 2);
    }
    CHECK(fs::is_empty(dir2));
    // A missing folder fails without leaving the other file behind.
    CHECK_THROWS_AS(write_accuracy_reports(s, {(dir2 / "b.json").string(), (dir / "missing" / "b.html").string()}),
                    hq::Error);
    CHECK(fs::is_empty(dir2));

    // For manual inspection / rendering: HQ_REPORT_HTML_OUT=/path/x.html writes the sample report there.
    if (const char* out = std::getenv("HQ_REPORT_HTML_OUT")) write_accuracy_reports(s, {out});
    fs::remove_all(dir);
}
