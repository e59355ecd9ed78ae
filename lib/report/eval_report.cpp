#include "report/eval_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/error.h"
#include "core/fileio.h"
#include "report/svg.h"

namespace hq::report {

using json = nlohmann::ordered_json;

namespace {

constexpr double kDbCap = 200;  // SQNR of exact tensors (see OutputMetrics)
constexpr size_t kWorstLayers = 10;

// ---------------------------------------------------------------------------------------------- JSON

json jnum(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
// SQNR values: +-inf are capped at +-200 dB (the convention for exact tensors), NaN is null.
json jdb(double v) {
    if (std::isnan(v)) return nullptr;
    return std::clamp(v, -kDbCap, kDbCap);
}
template <typename T>
json jopt(const std::optional<T>& v) {
    if (!v) return nullptr;
    if constexpr (std::is_floating_point_v<T>) return jnum((double)*v);
    else return *v;
}
json jstr_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::optional<double> label_drop(const AccuracySummary& s) {
    if (!s.reference_accuracy || !s.candidate_accuracy) return std::nullopt;
    return *s.reference_accuracy - *s.candidate_accuracy;
}

// ------------------------------------------------------------------------------------ text helpers

std::string fixed(double v, int decimals) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}
std::string general(double v) {  // errors: 3 significant digits
    if (!std::isfinite(v)) return fixed(v, 0);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}
template <typename T>
std::string opt_fixed(const std::optional<T>& v, int decimals) {
    return v ? fixed((double)*v, decimals) : "–";
}
template <typename T>
std::string opt_general(const std::optional<T>& v) {
    return v ? general((double)*v) : "–";
}
std::string db(double v) { return fixed(std::isfinite(v) ? v : std::clamp(v, -kDbCap, kDbCap), 1); }

std::string metric_name(const AccuracySummary& s) { return s.budget_metric.empty() ? "drop" : s.budget_metric; }

struct Verdict {
    enum { Ok, Broken, None } state;
    std::string text;  // without the leading symbol
};

Verdict verdict(const AccuracySummary& s) {
    const std::string drop = s.drop ? fixed(*s.drop, 2) : "n/a";
    if (s.max_drop) {
        const std::string lim = fixed(*s.max_drop, 2);
        if (s.budget_ok) return {Verdict::Ok, "within budget: " + metric_name(s) + " " + drop + " ≤ " + lim};
        return {Verdict::Broken, "budget broken: " + metric_name(s) + " " + drop + " > " + lim};
    }
    if (!s.budget_ok) return {Verdict::Broken, "budget broken: " + metric_name(s) + " " + drop};
    return {Verdict::None,
            "no accuracy budget set" + (s.drop ? " (" + metric_name(s) + " " + drop + ")" : std::string())};
}

// Markdown table cell: no newlines, pipes escaped; `code` wraps in backticks (which it cannot contain).
std::string md_cell(const std::string& s, bool code = false) {
    std::string out;
    for (char c : s) {
        if (c == '\n' || c == '\r') out += ' ';
        else if (c == '|') out += "\\|";
        else if (c == '`' && code) out += '\'';
        else out += c;
    }
    return code ? "`" + out + "`" : out;
}

// ----------------------------------------------------------------------------------------- charts

const char* precision_color(const std::string& p) {
    if (p == "int8") return "#4e9a54";
    if (p == "fp16") return "#f28e2b";
    if (p == "fp32") return "#8c8c8c";
    return "#d0d0d0";
}

std::string shorten(const std::string& s, size_t n) {
    if (s.size() <= n) return s;
    size_t cut = n - 1;
    while (cut > 0 && ((unsigned char)s[cut] >> 6) == 0x2) --cut;  // not inside a UTF-8 sequence
    return s.substr(0, cut) + "…";
}

constexpr double kChartW = 1040, kLeft = 64, kRight = 48;
constexpr size_t kMaxBars = 120;

std::string sqnr_chart(const std::vector<LayerMetrics>& layers) {
    const size_t n = std::min(layers.size(), kMaxBars);
    const double top = 40, bottom = n <= 60 ? 108 : 50, plot_h = 250;
    const double H = top + plot_h + bottom, plot_w = kChartW - kLeft - kRight;
    double vmax = 40, vmin = 0;
    bool clipped = false;
    for (size_t i = 0; i < n; ++i)
        for (double v : {layers[i].sqnr_db, layers[i].added_sqnr_db}) {
            if (!std::isfinite(v)) continue;
            vmax = std::max(vmax, std::min(v, 100.0));
            vmin = std::min(vmin, std::max(v, -60.0));
            clipped |= v > 100;
        }
    vmax = svg::nice_ceil(vmax, 10);
    vmin = -svg::nice_ceil(-vmin, 10);
    svg::Scale y{vmin, vmax, top + plot_h, top};
    svg::Canvas c(kChartW, H, "Per-layer SQNR of the candidate vs the reference (dB), worst layers first",
                  "Dark bars: accumulated SQNR at the layer's output; light bars: SQNR added by the layer alone. "
                  "Dashed line: 30 dB.");
    // legend
    c.rect(kLeft, 12, 12, 12, "#2f5f98");
    c.text(kLeft + 18, 22, "accumulated SQNR (candidate vs reference at the layer output)");
    c.rect(kLeft + 400, 12, 12, 12, "#9cc3e6");
    c.text(kLeft + 418, 22, "added SQNR (this layer alone, on the reference's inputs)");
    if (clipped) c.text(kChartW - kRight, 22, "bars above 100 dB are cut (200 dB = exact)", "end", 10,
                        "fill=\"#777\"");
    // grid + y axis
    for (double t : svg::nice_ticks(vmin, vmax, 6)) {
        c.line(kLeft, y(t), kLeft + plot_w, y(t), "#e5e5e5");
        c.text(kLeft - 6, y(t) + 4, svg::num(t, 1), "end", 10);
    }
    c.line(kLeft, top, kLeft, top + plot_h, "#444");
    c.line(kLeft, y(0), kLeft + plot_w, y(0), "#444");
    c.text(16, top + plot_h / 2, "SQNR (dB)", "middle", 11,
           "transform=\"rotate(-90 16 " + svg::num(top + plot_h / 2) + ")\"");
    // bars
    const double gw = plot_w / std::max<size_t>(n, 1), bw = std::max(0.6, gw * 0.38);
    for (size_t i = 0; i < n; ++i) {
        const auto& l = layers[i];
        const double x0 = kLeft + i * gw + gw * 0.1;
        const std::string tip = l.node + " (" + l.op_type + ", " + l.precision + ")\naccumulated " + db(l.sqnr_db) +
                                " dB, added " + db(l.added_sqnr_db) + " dB, inherited " + db(l.inherited_sqnr_db) +
                                " dB";
        auto bar = [&](double v, double x, const char* color) {
            if (std::isnan(v)) return;
            const double yv = y(v), y0 = y(0);
            c.rect(x, std::min(yv, y0), bw, std::fabs(y0 - yv), color, tip);
        };
        bar(l.sqnr_db, x0, "#2f5f98");
        bar(l.added_sqnr_db, x0 + bw, "#9cc3e6");
        const double cx = kLeft + (i + 0.5) * gw, ly = top + plot_h + 12;
        if (n <= 60) {
            c.text(cx + 3, ly, shorten(l.node, 22), "end", 9,
                   "transform=\"rotate(-60 " + svg::num(cx + 3) + " " + svg::num(ly) + ")\"");
        } else if (i % 10 == 0) {
            c.text(cx, ly + 2, std::to_string(i + 1), "middle", 9);
        }
    }
    // 30 dB reference line
    if (30 >= vmin && 30 <= vmax) {
        c.line(kLeft, y(30), kLeft + plot_w, y(30), "#d62728", 1.5, "stroke-dasharray=\"6 4\"");
        c.text(kLeft + plot_w + 4, y(30) + 4, "30 dB", "start", 10, "fill=\"#d62728\"");
    }
    std::string xl = "layers, worst first";
    if (layers.size() > n) xl += " (the " + std::to_string(n) + " worst of " + std::to_string(layers.size()) + ")";
    else if (n > 60) xl += " (numbered)";
    c.text(kLeft + plot_w / 2, H - 8, xl, "middle", 11);
    return c.str();
}

std::string precision_chart(const std::vector<LayerMetrics>& layers) {
    const size_t n = std::min(layers.size(), kMaxBars);
    const double plot_w = kChartW - kLeft - kRight, H = 88;
    svg::Canvas c(kChartW, H, "Precision per layer (same order as the SQNR chart)");
    std::map<std::string, int> counts;
    for (const auto& l : layers) counts[l.precision.empty() ? "unknown" : l.precision]++;
    const double gw = plot_w / std::max<size_t>(n, 1);
    c.text(kLeft - 6, 30, "precision", "end", 10);
    for (size_t i = 0; i < n; ++i)
        c.rect(kLeft + i * gw, 14, std::max(0.8, gw - (gw > 4 ? 1 : 0)), 26, precision_color(layers[i].precision),
               layers[i].node + ": " + (layers[i].precision.empty() ? "unknown" : layers[i].precision));
    double x = kLeft;
    for (const char* p : {"int8", "fp16", "fp32"}) {
        c.rect(x, 56, 12, 12, precision_color(p));
        const std::string label = std::string(p) + " (" + std::to_string(counts[p]) + " layers)";
        c.text(x + 18, 66, label);
        x += 150;
    }
    for (const auto& [p, k] : counts) {
        if (p == "int8" || p == "fp16" || p == "fp32") continue;
        c.rect(x, 56, 12, 12, precision_color(p));
        c.text(x + 18, 66, p + " (" + std::to_string(k) + " layers)");
        x += 150;
    }
    if (layers.size() > n)
        c.text(kChartW - kRight, 66, "counts over all " + std::to_string(layers.size()) + " layers", "end", 10);
    return c.str();
}

std::string steps_chart(const std::vector<SearchStep>& steps, std::optional<double> max_drop) {
    const double top = 36, plot_h = 220, bottom = 48, H = top + plot_h + bottom, plot_w = kChartW - kLeft - kRight;
    double vmin = 0, vmax = max_drop && std::isfinite(*max_drop) ? *max_drop : 0;
    for (const auto& s : steps)
        if (std::isfinite(s.metric)) vmax = std::max(vmax, s.metric), vmin = std::min(vmin, s.metric);
    if (vmax <= vmin) vmax = vmin + 1;
    auto ticks = svg::nice_ticks(vmin, vmax * 1.1, 5);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    vmax = svg::nice_ceil(vmax * 1.1, step);
    vmin = -svg::nice_ceil(-vmin, step);
    svg::Scale y{vmin, vmax, top + plot_h, top};
    const size_t n = steps.size();
    svg::Scale x{n == 1 ? -1.0 : 0.0, n == 1 ? 1.0 : (double)(n - 1), kLeft + 20, kLeft + plot_w - 20};
    svg::Canvas c(kChartW, H, "Accuracy-budget search: the budget metric after each step, with --max-drop");
    c.circle(kLeft + 6, 18, 5, "#2ca02c");
    c.text(kLeft + 16, 22, "within budget");
    c.circle(kLeft + 116, 18, 5, "#d62728");
    c.text(kLeft + 126, 22, "over budget");
    c.line(kLeft + 220, 18, kLeft + 250, 18, "#d62728", 1.5, "stroke-dasharray=\"6 4\"");
    c.text(kLeft + 256, 22, "--max-drop");
    for (double t : svg::nice_ticks(vmin, vmax, 5)) {
        c.line(kLeft, y(t), kLeft + plot_w, y(t), "#e5e5e5");
        c.text(kLeft - 6, y(t) + 4, svg::num(t, 3), "end", 10);
    }
    c.line(kLeft, top, kLeft, top + plot_h, "#444");
    c.line(kLeft, top + plot_h, kLeft + plot_w, top + plot_h, "#444");
    c.text(16, top + plot_h / 2, "budget metric", "middle", 11,
           "transform=\"rotate(-90 16 " + svg::num(top + plot_h / 2) + ")\"");
    if (max_drop && std::isfinite(*max_drop)) {
        c.line(kLeft, y(*max_drop), kLeft + plot_w, y(*max_drop), "#d62728", 1.5, "stroke-dasharray=\"6 4\"");
        c.text(kLeft + plot_w + 4, y(*max_drop) + 4, fixed(*max_drop, 2), "start", 10, "fill=\"#d62728\"");
    }
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < n; ++i)
        if (std::isfinite(steps[i].metric)) pts.emplace_back(x((double)i), y(steps[i].metric));
    c.polyline(pts, "#555");
    const size_t label_every = std::max<size_t>(1, n / 25);
    for (size_t i = 0; i < n; ++i) {
        const auto& s = steps[i];
        const std::string tip = "step " + std::to_string(s.index) + ": " + s.action + "\nbudget metric " +
                                fixed(s.metric, 3) + "; int8 " + std::to_string(s.int8) + ", fp16 " +
                                std::to_string(s.fp16) + ", fp32 " + std::to_string(s.fp32);
        if (std::isfinite(s.metric)) c.circle(x((double)i), y(s.metric), 4.5, s.within_budget ? "#2ca02c" : "#d62728",
                                              tip);
        if (i % label_every == 0) c.text(x((double)i), top + plot_h + 16, std::to_string(s.index), "middle", 10);
    }
    c.text(kLeft + plot_w / 2, H - 10, "search step", "middle", 11);
    return c.str();
}

std::string histogram_chart(const HistogramData& h, std::string* caption) {
    const double W = 500, H = 210, left = 50, right = 14, top = 14, bottom = 42;
    const double plot_w = W - left - right, plot_h = H - top - bottom;
    // Re-bin to at most 100 bars.
    const size_t nb = h.counts.size(), bars = std::min<size_t>(nb, 100);
    std::vector<double> bin(bars, 0);
    uint64_t total = 0, outside = 0;
    const bool valid_range = std::isfinite(h.lo) && std::isfinite(h.hi) && h.hi > h.lo;
    for (size_t i = 0; i < nb; ++i) {
        bin[i * bars / nb] += (double)h.counts[i];
        total += h.counts[i];
        if (valid_range && (h.clip_lo || h.clip_hi)) {
            const double center = h.lo + (i + 0.5) * (h.hi - h.lo) / nb;
            if ((h.clip_lo && center < *h.clip_lo) || (h.clip_hi && center > *h.clip_hi)) outside += h.counts[i];
        }
    }
    double cmax = 0;
    for (double b : bin) cmax = std::max(cmax, b);
    svg::Canvas c(W, H, "Activation histogram of " + h.tensor + " (reference model)");
    // The axis covers the values and the quantization range, so a range wider than the data shows.
    double x_lo = h.lo, x_hi = valid_range ? h.hi : h.lo + 1;
    if (valid_range && h.clip_lo && std::isfinite(*h.clip_lo)) x_lo = std::min(x_lo, *h.clip_lo);
    if (valid_range && h.clip_hi && std::isfinite(*h.clip_hi)) x_hi = std::max(x_hi, *h.clip_hi);
    svg::Scale x{x_lo, x_hi, left, left + plot_w};
    svg::Scale y{0, std::log10(1 + std::max(cmax, 1.0)) * 1.06, top + plot_h, top};
    if (h.clip_lo || h.clip_hi) {  // the quantization range, shaded
        const double a = x(h.clip_lo ? *h.clip_lo : h.lo), b = x(h.clip_hi ? *h.clip_hi : h.hi);
        c.rect(a, top, b - a, plot_h, "#fff1c9", "quantization range " + opt_general(h.clip_lo) + " … " +
                                                      opt_general(h.clip_hi));
        for (double e : {a, b}) c.line(e, top, e, top + plot_h, "#c98a00", 1, "stroke-dasharray=\"4 3\"");
    }
    if (!valid_range) c.text(left + plot_w / 2, top + plot_h / 2, "no finite value range", "middle", 12);
    for (size_t i = 0; i < (valid_range ? bars : 0); ++i) {
        if (bin[i] <= 0) continue;
        const double yv = y(std::log10(1 + bin[i]));
        const double b_lo = h.lo + i * (h.hi - h.lo) / bars, b_hi = h.lo + (i + 1) * (h.hi - h.lo) / bars;
        const double bw = x(b_hi) - x(b_lo);
        c.rect(x(b_lo), yv, std::max(0.5, bw - (bw > 3 ? 0.5 : 0)), top + plot_h - yv, "#4e79a7",
               "[" + general(b_lo) + ", " + general(b_hi) + "): " + std::to_string((uint64_t)bin[i]));
    }
    c.line(left, top + plot_h, left + plot_w, top + plot_h, "#444");
    c.line(left, top, left, top + plot_h, "#444");
    for (double t : valid_range ? svg::nice_ticks(x_lo, x_hi, 6) : std::vector<double>{}) {
        c.line(x(t), top + plot_h, x(t), top + plot_h + 4, "#444");
        c.text(x(t), top + plot_h + 15, svg::num(t, 3), "middle", 10);
    }
    c.text(left + plot_w / 2, H - 6, "activation value", "middle", 10);
    for (int k = 0; k <= (int)std::floor(std::log10(1 + std::max(cmax, 1.0))); ++k) {
        c.text(left - 5, y(k) + 3, k == 0 ? "1" : "1e" + std::to_string(k), "end", 9);
        c.line(left - 3, y(k), left, y(k), "#444");
    }
    c.text(12, top + plot_h / 2, "count (log)", "middle", 10,
           "transform=\"rotate(-90 12 " + svg::num(top + plot_h / 2) + ")\"");
    if (caption) {
        *caption = "range [" + general(h.lo) + ", " + general(h.hi) + "], " + std::to_string(total) + " values";
        if (h.clip_lo || h.clip_hi) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.3g%%", total ? 100.0 * outside / total : 0.0);
            *caption += "; quantization range [" + opt_general(h.clip_lo) + ", " + opt_general(h.clip_hi) +
                        "] (shaded), " + buf + " of values outside it";
        }
    }
    return c.str();
}

// ------------------------------------------------------------------------------------ HTML pieces

std::string h(const std::string& s) { return svg::escape(s); }

const char* kCss = R"(
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;color:#222;max-width:1080px;margin:24px auto;padding:0 16px;
font-size:14px;line-height:1.45;background:#fff}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e3e3;padding-bottom:4px}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:10px 0 14px}
.meta dt{color:#666}.meta dd{margin:0}
.verdict{padding:10px 14px;border-radius:6px;font-weight:600;font-size:15px;margin:10px 0}
.ok{background:#e7f5ea;color:#19692c;border:1px solid #a9d8b4}.bad{background:#fdecea;color:#a11d1a;
border:1px solid #f1b1ad}.none{background:#eef2f7;color:#34495e;border:1px solid #cfd9e4}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 10px;text-align:right;vertical-align:top}
th{background:#f6f7f9;font-weight:600}th:first-child,td:first-child{text-align:left}
td.l{text-align:left}td.neg{color:#a11d1a;font-weight:600}
.p-int8{color:#2e7d32}.p-fp16{color:#c0630a}.p-fp32{color:#666}
.chart{margin:6px 0 18px;overflow-x:auto}
.hists{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0}figcaption{font-size:12px;color:#555;max-width:500px}
.muted{color:#777}footer{margin:30px 0 10px;color:#888;font-size:12px}
details summary{cursor:pointer;color:#34495e;margin:4px 0}
)";

std::string layer_row(const LayerMetrics& l, bool full) {
    std::string r = "<tr><td><code>" + h(l.node) + "</code></td><td class=\"l\">" + h(l.op_type) +
                    "</td><td class=\"l p-" + h(l.precision) + "\">" + h(l.precision) + "</td><td" +
                    (l.sqnr_db < 30 ? " class=\"neg\"" : "") + ">" + db(l.sqnr_db) + "</td><td>" +
                    db(l.added_sqnr_db) + "</td><td>" + db(l.inherited_sqnr_db) + "</td>";
    if (full) {
        r += "<td>" + (l.input_scale ? general(*l.input_scale) : "–") + "</td><td>" +
             (l.input_zero_point ? std::to_string(*l.input_zero_point) : "–") + "</td><td>" +
             opt_fixed(l.sensitivity_db, 1) + "</td><td>" +
             (l.sparsity ? fixed(*l.sparsity * 100, 1) + "%" : "–") + "</td>";
    }
    return r + "</tr>\n";
}

std::string layer_table(const std::vector<LayerMetrics>& layers, size_t from, size_t to) {
    std::string t =
        "<table><tr><th>node</th><th>op</th><th>precision</th><th>SQNR (dB)</th><th>added (dB)</th>"
        "<th>inherited (dB)</th><th>input scale</th><th>zero point</th><th>sensitivity (dB)</th><th>sparsity</th>"
        "</tr>\n";
    for (size_t i = from; i < to; ++i) t += layer_row(layers[i], true);
    return t + "</table>\n";
}

}  // namespace

// ================================================================================================

std::string accuracy_json(const AccuracySummary& s) {
    json j;
    j["schema"] = 1;
    j["kind"] = s.kind;
    j["tool"] = "hyquant " HYQUANT_VERSION;
    j["reference"] = s.reference;
    j["candidate"] = s.candidate;
    j["data"] = s.data;
    j["labels"] = jstr_or_null(s.labels);
    j["command"] = s.command;
    j["samples"] = s.samples;
    json outs = json::array();
    for (const auto& o : s.outputs)
        outs.push_back({{"name", o.name}, {"cosine", jnum(o.cosine)}, {"sqnr_db", jdb(o.sqnr_db)},
                        {"max_abs", jnum(o.max_abs)}, {"mean_abs", jnum(o.mean_abs)},
                        {"top1_agreement", jopt(o.top1_agreement)}});
    j["outputs"] = outs;
    j["reference_accuracy"] = jopt(s.reference_accuracy);
    j["candidate_accuracy"] = jopt(s.candidate_accuracy);
    if (s.reference_accuracy || s.candidate_accuracy)
        j["accuracy"] = {{"reference", jopt(s.reference_accuracy)},
                         {"candidate", jopt(s.candidate_accuracy)},
                         {"drop_points", jopt(label_drop(s))}};
    else
        j["accuracy"] = nullptr;
    j["budget"] = {{"metric", jstr_or_null(s.budget_metric)},
                   {"drop", jopt(s.drop)},
                   {"max_drop", jopt(s.max_drop)},
                   {"ok", s.budget_ok}};
    json layers = json::array();
    for (const auto& l : s.layers)
        layers.push_back({{"node", l.node},
                          {"op_type", l.op_type},
                          {"tensor", l.tensor},
                          {"precision", l.precision},
                          {"sqnr_db", jdb(l.sqnr_db)},
                          {"added_sqnr_db", jdb(l.added_sqnr_db)},
                          {"inherited_sqnr_db", jdb(l.inherited_sqnr_db)},
                          {"input_scale", jopt(l.input_scale)},
                          {"input_zero_point", jopt(l.input_zero_point)},
                          {"sensitivity_db", jopt(l.sensitivity_db)},
                          {"sparsity", jopt(l.sparsity)}});
    j["layers"] = layers;
    json hists = json::array();
    for (const auto& hd : s.histograms)
        hists.push_back({{"tensor", hd.tensor},
                         {"lo", jnum(hd.lo)},
                         {"hi", jnum(hd.hi)},
                         {"counts", hd.counts},
                         {"clip_lo", jopt(hd.clip_lo)},
                         {"clip_hi", jopt(hd.clip_hi)}});
    j["histograms"] = hists;
    json steps = json::array();
    for (const auto& st : s.steps)
        steps.push_back({{"index", st.index},
                         {"action", st.action},
                         {"int8", st.int8},
                         {"fp16", st.fp16},
                         {"fp32", st.fp32},
                         {"metric", jnum(st.metric)},
                         {"within_budget", st.within_budget}});
    j["search_steps"] = steps;
    j["notes"] = s.notes;
    // Node and file names are not guaranteed UTF-8: replace bad bytes instead of throwing.
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string accuracy_markdown(const AccuracySummary& s) {
    std::string md = "## hyquant " + s.kind + " accuracy";
    if (!s.reference.empty() || !s.candidate.empty())
        md += ": " + md_cell(s.candidate, true) + " vs " + md_cell(s.reference, true);
    md += "\n\n";
    const Verdict v = verdict(s);
    md += std::string("**") + (v.state == Verdict::Ok ? "✅ " : v.state == Verdict::Broken ? "❌ " : "ℹ️ ") + v.text +
          "**\n\n";
    md += std::to_string(s.samples) + " samples";
    if (!s.data.empty()) md += " from " + md_cell(s.data, true);
    if (!s.labels.empty()) md += ", labels " + md_cell(s.labels, true);
    md += ".\n\n";

    if (s.reference_accuracy || s.candidate_accuracy) {
        md += "### Accuracy\n\n| reference (%) | candidate (%) | drop (points) |\n|---:|---:|---:|\n";
        auto d = label_drop(s);
        md += "| " + opt_fixed(s.reference_accuracy, 2) + " | " + opt_fixed(s.candidate_accuracy, 2) + " | " +
              opt_fixed(d, 2) + " |\n\n";
    }

    md += "### Outputs\n\n";
    if (s.outputs.empty()) {
        md += "_no outputs compared_\n\n";
    } else {
        md += "| output | cosine | SQNR (dB) | max abs err | mean abs err | top-1 agreement (%) |\n"
              "|---|---:|---:|---:|---:|---:|\n";
        for (const auto& o : s.outputs)
            md += "| " + md_cell(o.name, true) + " | " + fixed(o.cosine, 6) + " | " + db(o.sqnr_db) + " | " +
                  general(o.max_abs) + " | " + general(o.mean_abs) + " | " + opt_fixed(o.top1_agreement, 2) + " |\n";
        md += "\n";
    }

    const size_t nw = std::min(kWorstLayers, s.layers.size());
    md += "### Worst layers";
    if (s.layers.empty()) {
        md += "\n\n_no layers compared_\n\n";
    } else {
        md += " (" + std::to_string(nw) + " of " + std::to_string(s.layers.size()) + ")\n\n";
        md += "| node | op | precision | SQNR (dB) | added (dB) | inherited (dB) |\n|---|---|---|---:|---:|---:|\n";
        for (size_t i = 0; i < nw; ++i) {
            const auto& l = s.layers[i];
            md += "| " + md_cell(l.node, true) + " | " + md_cell(l.op_type) + " | " + md_cell(l.precision) + " | " +
                  db(l.sqnr_db) + " | " + db(l.added_sqnr_db) + " | " + db(l.inherited_sqnr_db) + " |\n";
        }
        md += "\n";
    }

    if (!s.steps.empty()) {
        md += "### Accuracy-budget search\n\n| step | action | int8 | fp16 | fp32 | budget metric | within budget |\n"
              "|---:|---|---:|---:|---:|---:|:---:|\n";
        for (const auto& st : s.steps)
            md += "| " + std::to_string(st.index) + " | " + md_cell(st.action) + " | " + std::to_string(st.int8) +
                  " | " + std::to_string(st.fp16) + " | " + std::to_string(st.fp32) + " | " + fixed(st.metric, 2) +
                  " | " + (st.within_budget ? "✅" : "❌") + " |\n";
        md += "\n";
    }
    for (const auto& n : s.notes) md += "> " + md_cell(n) + "\n>\n";
    if (!s.notes.empty()) md.resize(md.size() - 2);  // drop the last blank quote line
    return md;
}

std::string accuracy_html(const AccuracySummary& s) {
    std::string o;
    o.reserve(64 * 1024);
    o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    o += "<title>hyquant " + h(s.kind) + " accuracy" +
         (s.candidate.empty() ? std::string() : ": " + h(s.candidate) + " vs " + h(s.reference)) + "</title>\n";
    o += std::string("<style>") + kCss + "</style>\n</head>\n<body>\n";

    o += "<h1>hyquant " + h(s.kind) + " — accuracy report</h1>\n<dl class=\"meta\">";
    if (!s.reference.empty()) o += "<dt>reference</dt><dd><code>" + h(s.reference) + "</code></dd>";
    if (!s.candidate.empty()) o += "<dt>candidate</dt><dd><code>" + h(s.candidate) + "</code></dd>";
    o += "<dt>data</dt><dd>" + (s.data.empty() ? std::string() : "<code>" + h(s.data) + "</code> ") + "(" +
         std::to_string(s.samples) + " samples)</dd>";
    if (!s.labels.empty()) o += "<dt>labels</dt><dd><code>" + h(s.labels) + "</code></dd>";
    if (!s.command.empty()) o += "<dt>command</dt><dd><code>" + h(s.command) + "</code></dd>";
    o += "</dl>\n";
    const Verdict v = verdict(s);
    o += std::string("<div class=\"verdict ") +
         (v.state == Verdict::Ok ? "ok\">✓ " : v.state == Verdict::Broken ? "bad\">✗ " : "none\">") + h(v.text) +
         "</div>\n";

    // accuracy
    o += "<h2>Accuracy</h2>\n";
    if (s.reference_accuracy || s.candidate_accuracy) {
        const auto d = label_drop(s);
        o += "<table><tr><th>model</th><th>accuracy (%)</th></tr>\n<tr><td>reference</td><td>" +
             opt_fixed(s.reference_accuracy, 2) + "</td></tr>\n<tr><td>candidate</td><td>" +
             opt_fixed(s.candidate_accuracy, 2) + "</td></tr>\n<tr><td>drop (points)</td><td" +
             (s.max_drop && d && *d > *s.max_drop ? " class=\"neg\"" : "") + ">" + opt_fixed(d, 2) + "</td></tr>\n";
        if (s.max_drop) o += "<tr><td>max drop (points)</td><td>" + fixed(*s.max_drop, 2) + "</td></tr>\n";
        o += "</table>\n";
    } else {
        o += "<p class=\"muted\">no labels given: label accuracy not measured.</p>\n";
    }
    if (s.max_drop || s.drop || !s.budget_metric.empty()) {
        o += "<p>Budget metric: <b>" + h(metric_name(s)) + "</b> = " + opt_fixed(s.drop, 3);
        if (s.max_drop) o += ", --max-drop " + fixed(*s.max_drop, 3);
        o += ".</p>\n";
    }

    // outputs
    o += "<h2>Outputs</h2>\n";
    if (s.outputs.empty()) {
        o += "<p class=\"muted\">no outputs compared.</p>\n";
    } else {
        o += "<table><tr><th>output</th><th>cosine</th><th>SQNR (dB)</th><th>max abs err</th><th>mean abs err</th>"
             "<th>top-1 agreement (%)</th></tr>\n";
        for (const auto& out : s.outputs)
            o += "<tr><td><code>" + h(out.name) + "</code></td><td>" + fixed(out.cosine, 6) + "</td><td" +
                 (out.sqnr_db < 30 ? " class=\"neg\"" : "") + ">" + db(out.sqnr_db) + "</td><td>" +
                 general(out.max_abs) + "</td><td>" + general(out.mean_abs) + "</td><td>" +
                 opt_fixed(out.top1_agreement, 2) + "</td></tr>\n";
        o += "</table>\n";
    }

    // layers
    o += "<h2>Layers</h2>\n";
    if (s.layers.empty()) {
        o += "<p class=\"muted\">no layers compared.</p>\n";
    } else {
        o += "<p>SQNR of the candidate against the reference at each layer's output (accumulated error), and the "
             "SQNR that layer adds on its own when fed the reference's inputs. Below 30 dB is worth a look.</p>\n";
        o += "<div class=\"chart\">" + sqnr_chart(s.layers) + "</div>\n";
        o += "<div class=\"chart\">" + precision_chart(s.layers) + "</div>\n";
        const size_t nw = std::min(kWorstLayers, s.layers.size());
        o += "<h3>Worst " + std::to_string(nw) + " of " + std::to_string(s.layers.size()) + " layers</h3>\n";
        o += layer_table(s.layers, 0, nw);
        if (s.layers.size() > nw)
            o += "<details><summary>the other " + std::to_string(s.layers.size() - nw) + " layers</summary>\n" +
                 layer_table(s.layers, nw, s.layers.size()) + "</details>\n";
    }

    // search
    if (!s.steps.empty()) {
        o += "<h2>Accuracy-budget search</h2>\n<div class=\"chart\">" + steps_chart(s.steps, s.max_drop) + "</div>\n";
        o += "<table><tr><th>step</th><th>action</th><th>int8</th><th>fp16</th><th>fp32</th><th>budget metric</th>"
             "<th>within budget</th></tr>\n";
        for (const auto& st : s.steps)
            o += "<tr><td>" + std::to_string(st.index) + "</td><td class=\"l\">" + h(st.action) + "</td><td>" +
                 std::to_string(st.int8) + "</td><td>" + std::to_string(st.fp16) + "</td><td>" +
                 std::to_string(st.fp32) + "</td><td>" + fixed(st.metric, 3) + "</td><td" +
                 (st.within_budget ? ">yes" : " class=\"neg\">no") + "</td></tr>\n";
        o += "</table>\n";
    }

    // histograms
    o += "<h2>Activation histograms of the worst layers</h2>\n";
    if (s.histograms.empty()) {
        o += "<p class=\"muted\">no histograms recorded.</p>\n";
    } else {
        o += "<div class=\"hists\">\n";
        for (const auto& hd : s.histograms) {
            std::string caption;
            const std::string chart = histogram_chart(hd, &caption);
            o += "<figure>" + chart + "<figcaption><code>" + h(hd.tensor) + "</code>: " + h(caption) +
                 "</figcaption></figure>\n";
        }
        o += "</div>\n";
    }

    if (!s.notes.empty()) {
        o += "<h2>Notes</h2>\n<ul>\n";
        for (const auto& n : s.notes) o += "<li>" + h(n) + "</li>\n";
        o += "</ul>\n";
    }
    o += "<footer>hyquant " HYQUANT_VERSION " · report schema 1</footer>\n</body>\n</html>\n";
    return o;
}

void write_accuracy_reports(const AccuracySummary& s, const std::vector<std::string>& paths) {
    enum class Fmt { Json, Md, Html };
    std::vector<Fmt> fmts;
    for (const auto& p : paths) {
        std::string lower = p;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        auto ends = [&](const std::string& ext) {
            return lower.size() > ext.size() && lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0;
        };
        if (ends(".json")) fmts.push_back(Fmt::Json);
        else if (ends(".md")) fmts.push_back(Fmt::Md);
        else if (ends(".html")) fmts.push_back(Fmt::Html);
        else HQ_FAIL("--report ", p, ": unknown format (use .json, .md or .html)");
    }
    AtomicWriteSet w;
    for (size_t i = 0; i < paths.size(); ++i) {
        switch (fmts[i]) {
            case Fmt::Json: w.add(paths[i], accuracy_json(s)); break;
            case Fmt::Md: w.add(paths[i], accuracy_markdown(s)); break;
            case Fmt::Html: w.add(paths[i], accuracy_html(s)); break;
        }
    }
    w.commit();
}

}  // namespace hq::report
