#include "calib/evaluate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "calib/histogram.h"
#include "calib/metrics.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "dist/dist.h"
#include "dist/pack.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "quant/qdq_ops.h"

namespace hq::calib {

std::vector<int64_t> read_labels(const std::string& path) {
    std::string text = read_file(path, (size_t)1 << 30);
    std::vector<int64_t> labels;
    size_t line_no = 0, p = 0;
    while (p < text.size()) {
        size_t q = text.find('\n', p);
        if (q == std::string::npos) q = text.size();
        std::string line = text.substr(p, q - p);
        p = q + 1;
        ++line_no;
        auto hash = line.find('#');
        if (hash != std::string::npos) line = line.substr(0, hash);
        line.erase(0, line.find_first_not_of(" \t\r"));
        line.erase(line.find_last_not_of(" \t\r") + 1);
        if (line.empty()) continue;
        HQ_CHECK(line.find_first_not_of("0123456789-") == std::string::npos && line.size() < 19, path, ":", line_no,
                 ": '", line, "' is not an integer class label");
        labels.push_back(std::stoll(line));
    }
    HQ_CHECK(!labels.empty(), path, ": no labels");
    return labels;
}

namespace {

constexpr double kCap = 200.0;
double capped(double db) { return std::isnan(db) ? -kCap : std::max(-kCap, std::min(kCap, db)); }

bool is_classifier(const Tensor& t) {
    return dtype_is_float(t.dtype()) && (t.rank() == 1 || t.rank() == 2) && t.rank() >= 1 && t.shape().back() >= 2;
}

std::vector<int64_t> argmax_rows(const Tensor& t) {
    std::vector<float> v = t.to_f32();
    const int64_t c = t.shape().back(), rows = c ? (int64_t)v.size() / c : 0;
    std::vector<int64_t> r(rows);
    for (int64_t i = 0; i < rows; ++i)
        r[i] = std::max_element(v.begin() + i * c, v.begin() + (i + 1) * c) - (v.begin() + i * c);
    return r;
}

struct Layer {
    const graph::Node* node;  // in the candidate
    std::string tensor;       // output compared
    std::vector<std::string> activations;  // original (pre-QDQ) names of its activation inputs
    ErrorStats acc, added;
    std::map<std::string, ErrorStats> inherited;
    std::string precision = "fp32";
    std::optional<float> scale;
    std::optional<int32_t> zp;
    Histogram hist;  // reference values of its first activation input
};

// Follows DequantizeLinear <- QuantizeLinear (and Cast) back to the float tensor that was quantized.
std::string original_of(const graph::Graph& g, const std::map<std::string, size_t>& prod, std::string v,
                        std::optional<float>* scale, std::optional<int32_t>* zp, std::string* precision) {
    for (int depth = 0; depth < 4; ++depth) {
        auto it = prod.find(v);
        if (it == prod.end()) return v;
        const graph::Node& p = g.nodes[it->second];
        if (p.op_type == "DequantizeLinear" || p.op_type == "QuantizeLinear" || p.op_type == "Cast") {
            if (p.op_type == "DequantizeLinear" && precision) *precision = "int8";
            if (p.op_type == "Cast" && precision && *precision == "fp32") *precision = "fp16";
            if (p.op_type == "QuantizeLinear" && scale && g.is_initializer(p.input(1))) {
                *scale = (float)g.initializers.at(p.input(1)).at_f64(0);
                if (!p.input(2).empty() && g.is_initializer(p.input(2)))
                    *zp = (int32_t)g.initializers.at(p.input(2)).at_i64(0);
                else
                    *zp = 0;
            }
            v = p.input(0);
            continue;
        }
        return v;
    }
    return v;
}

// Value of `name` in the candidate graph computed from the reference's tensors: the candidate's own
// constants, the reference value where the reference has the name, else the candidate's producer
// evaluated on resolved inputs (Q/DQ/Cast chains, a few nodes deep).
Tensor resolve(const graph::Model& cand, const std::map<std::string, size_t>& prod,
               const std::map<std::string, Tensor>& ref, const std::string& name, int depth) {
    const auto& g = cand.graph;
    auto ini = g.initializers.find(name);
    if (ini != g.initializers.end()) return ini->second;
    auto r = ref.find(name);
    if (r != ref.end()) return r->second;
    auto it = prod.find(name);
    HQ_ASSERT(it != prod.end() && depth < 8, "cannot rebuild '", name, "' from the reference");
    const graph::Node& p = g.nodes[it->second];
    std::vector<Tensor> ins;
    for (const auto& i : p.inputs) ins.push_back(i.empty() ? Tensor() : resolve(cand, prod, ref, i, depth + 1));
    auto outs = exec::cpu::evaluate_node(p, ins, cand.opset(p.domain));
    for (size_t k = 0; k < p.outputs.size(); ++k)
        if (p.outputs[k] == name) return outs[k];
    HQ_ASSERT(false, "producer of '", name, "' did not produce it");
    return Tensor();
}

// One sample's measurements alone (evaluate_models adds them up in sample order).
struct SampleRecord {
    std::string name;
    std::vector<ErrorStats> outs;                              // per output
    std::vector<uint8_t> classifier;                           // per output: looks like class scores
    std::vector<int64_t> agree, rows;                          // per output: top-1 agreements, rows
    std::vector<std::vector<int64_t>> ref_argmax, cand_argmax;  // per output, with labels only
    struct LayerRecord {
        bool seen = false;
        ErrorStats acc, added;
        std::map<std::string, ErrorStats> inherited;
        Histogram hist;
    };
    std::vector<LayerRecord> layers;  // per layer; empty when the sample is not one of the layer-wise ones
};

void pack_record(dist::Packer& p, const SampleRecord& r) {
    p.put_str(r.name);
    p.put_vec(r.outs);
    p.put_vec(r.classifier);
    p.put_vec(r.agree);
    p.put_vec(r.rows);
    for (size_t k = 0; k < r.outs.size(); ++k) {
        p.put_vec(r.ref_argmax[k]);
        p.put_vec(r.cand_argmax[k]);
    }
    p.put<uint64_t>(r.layers.size());
    for (const auto& l : r.layers) {
        p.put<uint8_t>(l.seen);
        p.put(l.acc);
        p.put(l.added);
        p.put<uint64_t>(l.inherited.size());
        for (const auto& [a, e] : l.inherited) {
            p.put_str(a);
            p.put(e);
        }
        l.hist.pack(p);
    }
}

SampleRecord unpack_record(dist::Unpacker& u) {
    SampleRecord r;
    r.name = u.get_str();
    r.outs = u.get_vec<ErrorStats>();
    r.classifier = u.get_vec<uint8_t>();
    r.agree = u.get_vec<int64_t>();
    r.rows = u.get_vec<int64_t>();
    for (size_t k = 0; k < r.outs.size(); ++k) {
        r.ref_argmax.push_back(u.get_vec<int64_t>());
        r.cand_argmax.push_back(u.get_vec<int64_t>());
    }
    r.layers.resize(u.get<uint64_t>());
    for (auto& l : r.layers) {
        l.seen = u.get<uint8_t>() != 0;
        l.acc = u.get<ErrorStats>();
        l.added = u.get<ErrorStats>();
        for (auto k = u.get<uint64_t>(); k--;) {
            std::string a = u.get_str();
            l.inherited[a] = u.get<ErrorStats>();
        }
        l.hist = Histogram::unpack(u);
    }
    return r;
}

HistogramData to_report_hist(const std::string& tensor, const Histogram& h, const Layer& l) {
    HistogramData d;
    d.tensor = tensor;
    if (h.empty() || !h.has_bins()) return d;
    const auto& b = h.bins();
    int first = 0, last = Histogram::kBins - 1;
    while (first < last && b[first] == 0) ++first;
    while (last > first && b[last] == 0) --last;
    const int span = last - first + 1, out = std::min(64, span), per = (span + out - 1) / out;
    d.lo = h.edge(first);
    d.hi = h.edge(first + per * out);
    d.counts.assign(out, 0);
    for (int i = first; i <= last; ++i) d.counts[(i - first) / per] += b[i];
    if (l.scale && l.zp) {
        const bool int8 = l.precision == "int8";
        if (int8) {
            // uint8 when the zero point is non-negative and the range [0 - zp, 255 - zp] fits.
            d.clip_lo = (double)(0 - *l.zp) * *l.scale;
            d.clip_hi = (double)(255 - *l.zp) * *l.scale;
            if (*l.zp == 0 && h.min() < 0) {  // symmetric int8
                d.clip_lo = -127.0 * *l.scale;
                d.clip_hi = 127.0 * *l.scale;
            }
        }
    }
    return d;
}

}  // namespace

AccuracySummary evaluate_models(const graph::Model& reference, const graph::Model& candidate,
                                        const DataSource& data, const exec::Backend& backend,
                                        const EvaluateOptions& opt) {
    AccuracySummary s;
    const auto& rg = reference.graph;
    const auto& cg = candidate.graph;
    HQ_CHECK(rg.outputs.size() == cg.outputs.size(), "the models have ", rg.outputs.size(), " and ",
             cg.outputs.size(), " outputs");
    for (size_t i = 0; i < rg.outputs.size(); ++i)
        HQ_CHECK(rg.outputs[i].name == cg.outputs[i].name, "output ", i, " is '", rg.outputs[i].name,
                 "' in the reference and '", cg.outputs[i].name, "' in the candidate");
    exec::Executor rex(reference, backend), cex(candidate, backend);

    // Layers: weighted ops of the candidate whose output also exists in the reference.
    std::set<std::string> ref_values;
    for (const auto& n : rg.nodes) ref_values.insert(n.outputs.begin(), n.outputs.end());
    auto cprod = cg.producers();
    std::vector<Layer> layers;
    for (const auto& n : cg.nodes) {
        if (!n.domain.empty() || !quant::is_weighted_layer(n.op_type) || n.outputs.empty()) continue;
        if (!ref_values.count(n.outputs[0])) continue;
        Layer l;
        l.node = &n;
        l.tensor = n.outputs[0];
        for (const auto& in : n.inputs) {
            if (in.empty()) continue;
            std::string orig = original_of(cg, cprod, in, &l.scale, &l.zp, &l.precision);
            if (!cg.is_initializer(orig) && !cg.is_initializer(in)) l.activations.push_back(orig);
        }
        if (!l.scale) l.zp.reset();
        layers.push_back(std::move(l));
    }
    std::set<std::string> ckeep;
    for (const auto& l : layers) {
        ckeep.insert(l.tensor);
        ckeep.insert(l.activations.begin(), l.activations.end());
    }
    std::set<std::string> rkeep = ref_values;
    for (const auto& i : rg.inputs) rkeep.insert(i.name);

    // Every sample gives a record (its metrics alone); the totals add the records in sample order. Under MPI each
    // rank makes the records of its block of samples and rank 0 adds them in rank order, which is sample order:
    // the sums of doubles are the same, bit for bit, as one process's.
    const size_t nout = rg.outputs.size();
    std::vector<ErrorStats> outs(nout);
    std::vector<int64_t> agree(nout, 0), rows(nout, 0);
    int64_t label_row = 0, ref_correct = 0, cand_correct = 0, labelled = 0;
    int classifier = -1;
    auto accumulate = [&](const SampleRecord& rec) {
        for (size_t k = 0; k < nout; ++k) {
            outs[k].merge(rec.outs[k]);
            if (!rec.classifier[k]) continue;
            if (classifier < 0) classifier = (int)k;
            agree[k] += rec.agree[k];
            rows[k] += rec.rows[k];
            if ((int)k != classifier || opt.labels.empty()) continue;
            const auto &ra = rec.ref_argmax[k], &ca = rec.cand_argmax[k];
            for (size_t i = 0; i < ra.size(); ++i, ++label_row) {
                HQ_CHECK(label_row < (int64_t)opt.labels.size(), "labels: only ", opt.labels.size(),
                         " labels for more samples (sample '", rec.name, "')");
                ref_correct += ra[i] == opt.labels[label_row];
                cand_correct += ca[i] == opt.labels[label_row];
                ++labelled;
            }
        }
        for (size_t j = 0; j < rec.layers.size(); ++j) {
            const auto& lr = rec.layers[j];
            if (!lr.seen) continue;
            layers[j].acc.merge(lr.acc);
            layers[j].added.merge(lr.added);
            for (const auto& [a, e] : lr.inherited) layers[j].inherited[a].merge(e);
            layers[j].hist.merge(lr.hist);
        }
    };
    auto measure = [&](int64_t si) {
        Sample sample = data.load((size_t)si);
        const bool layerwise = si < opt.layer_samples && !layers.empty();
        SampleRecord rec;
        rec.name = sample.name;
        rec.outs.resize(nout);
        rec.classifier.assign(nout, 0);
        rec.agree.assign(nout, 0);
        rec.rows.assign(nout, 0);
        rec.ref_argmax.resize(nout);
        rec.cand_argmax.resize(nout);
        std::map<std::string, Tensor> r, c;
        try {
            r = rex.run(sample.inputs, nullptr, layerwise ? rkeep : std::set<std::string>{});
            c = cex.run(sample.inputs, nullptr, layerwise ? ckeep : std::set<std::string>{});
        } catch (const Error& e) {
            throw Error("sample '" + sample.name + "': " + e.what(), e.kind());
        }
        if (layerwise)
            for (const auto& i : sample.inputs) r[i.first] = i.second;
        for (size_t k = 0; k < nout; ++k) {
            const std::string& on = rg.outputs[k].name;
            const Tensor &rt = r.at(on), &ct = c.at(on);
            rec.outs[k].add(rt, ct, "output '" + on + "'");
            if (is_classifier(rt) && rt.shape() == ct.shape()) {
                rec.classifier[k] = 1;
                auto ra = argmax_rows(rt), ca = argmax_rows(ct);
                for (size_t i = 0; i < ra.size(); ++i) rec.agree[k] += ra[i] == ca[i];
                rec.rows[k] = (int64_t)ra.size();
                if (!opt.labels.empty()) {
                    rec.ref_argmax[k] = std::move(ra);
                    rec.cand_argmax[k] = std::move(ca);
                }
            }
        }
        if (layerwise) {
            rec.layers.resize(layers.size());
            for (size_t j = 0; j < layers.size(); ++j) {
                const Layer& l = layers[j];
                auto& lr = rec.layers[j];
                auto rt = r.find(l.tensor), ct = c.find(l.tensor);
                if (rt == r.end() || ct == c.end()) continue;
                lr.seen = true;
                lr.acc.add(rt->second, ct->second, "tensor '" + l.tensor + "'");
                std::vector<Tensor> ins;
                for (const auto& in : l.node->inputs) {
                    Tensor v = in.empty() ? Tensor() : resolve(candidate, cprod, r, in, 0);
                    // A reference float32 tensor read inside the candidate's FP16 region: cast it as the
                    // candidate holds it (else the node sees float16 weights and a float32 input).
                    auto cv = in.empty() ? c.end() : c.find(in);
                    const auto is_float = [](DType d) { return d == DType::F16 || d == DType::F32; };
                    if (cv != c.end() && !v.empty() && cv->second.dtype() != v.dtype() && is_float(v.dtype()) &&
                        is_float(cv->second.dtype())) {
                        graph::Node cast;
                        cast.op_type = "Cast";
                        cast.name = "cast_" + in;
                        cast.inputs = {in};
                        cast.outputs = {in + "_cast"};
                        graph::Attribute to;
                        to.kind = graph::Attribute::Kind::Int;
                        to.i = cv->second.dtype() == DType::F16 ? 10 : 1;
                        cast.attrs["to"] = to;
                        v = exec::cpu::evaluate_node(cast, {v}, 13).at(0);
                    }
                    ins.push_back(v);
                }
                auto local = exec::cpu::evaluate_node(*l.node, ins, candidate.opset(l.node->domain));
                lr.added.add(rt->second, local.at(0), "tensor '" + l.tensor + "'");
                for (const auto& a : l.activations) {
                    auto ra = r.find(a), ca = c.find(a);
                    if (ra != r.end() && ca != c.end()) lr.inherited[a].add(ra->second, ca->second, a);
                }
                if (!l.activations.empty()) {
                    auto ra = r.find(l.activations[0]);
                    if (ra != r.end() && ra->second.dtype() == DType::F32)
                        lr.hist.add(ra->second.data<float>(), ra->second.numel());
                }
            }
        }
        return rec;
    };
    int64_t n = (int64_t)data.size();
    if (opt.max_samples > 0) n = std::min(n, opt.max_samples);
    const bool distributed = opt.distributed && dist::size() > 1;
    const auto [begin, end] = distributed ? dist::my_share(n) : std::pair<int64_t, int64_t>(0, n);
    Progress progress("evaluate", end - begin);
    dist::Packer mine;  // a rank > 0's records, for rank 0
    std::optional<dist::Failure> failure;
    for (int64_t si = begin; si < end; ++si) {
        if (!distributed) {
            accumulate(measure(si));
        } else {
            try {
                SampleRecord rec = measure(si);
                if (dist::is_root())
                    accumulate(rec);
                else
                    pack_record(mine, rec);
            } catch (const Error& e) {
                failure = dist::Failure{dist::rank(), e.exit_code(), e.what()};
                break;
            }
        }
        progress.tick();
        dist::test_fault_point();
    }
    // The summary from the totals (rank 0 alone under MPI).
    auto summarize = [&] {
        progress.finish();
        s.samples = n;
        for (size_t k = 0; k < rg.outputs.size(); ++k) {
            OutputMetrics m;
            m.name = rg.outputs[k].name;
            m.cosine = outs[k].cosine();
            m.sqnr_db = capped(outs[k].sqnr_db());
            m.max_abs = outs[k].max_abs;
            m.mean_abs = outs[k].mean_abs();
            if (rows[k]) m.top1_agreement = 100.0 * agree[k] / rows[k];
            s.outputs.push_back(m);
        }
        if (!opt.labels.empty()) {
            HQ_CHECK(classifier >= 0, "--labels given but no output looks like class scores ([N, classes])");
            HQ_CHECK(labelled == (int64_t)opt.labels.size() || opt.max_samples > 0, "labels: ", opt.labels.size(),
                     " labels for ", labelled, " predictions");
            s.reference_accuracy = 100.0 * ref_correct / std::max<int64_t>(1, labelled);
            s.candidate_accuracy = 100.0 * cand_correct / std::max<int64_t>(1, labelled);
        }
        for (auto& l : layers) {
            if (l.acc.count == 0) continue;
            LayerMetrics m;
            m.node = l.node->name;
            m.op_type = l.node->op_type;
            m.tensor = l.tensor;
            m.precision = l.precision;
            m.sqnr_db = capped(l.acc.sqnr_db());
            m.added_sqnr_db = capped(l.added.sqnr_db());
            double inh = kCap;
            for (const auto& [a, e] : l.inherited) inh = std::min(inh, capped(e.sqnr_db()));
            m.inherited_sqnr_db = inh;
            m.input_scale = l.scale;
            m.input_zero_point = l.zp;
            s.layers.push_back(m);
        }
        // Worst first: the layers that add the most error.
        std::vector<size_t> order(s.layers.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return s.layers[a].added_sqnr_db < s.layers[b].added_sqnr_db; });
        std::vector<LayerMetrics> sorted;
        for (size_t i : order) sorted.push_back(s.layers[i]);
        s.layers = sorted;
        for (size_t i = 0; i < s.layers.size() && s.histograms.size() < 4; ++i) {
            for (const auto& l : layers) {
                if (l.node->name != s.layers[i].node || l.activations.empty()) continue;
                auto h = to_report_hist(l.activations[0], l.hist, l);
                if (!h.counts.empty()) s.histograms.push_back(h);
            }
        }
    };
    if (distributed) {
        dist::agree_or_throw(failure);
        const auto parts = dist::gather(mine.take());
        // Rank 0 adds the others' records in rank order; its own failures there (labels) are every rank's.
        failure.reset();
        if (dist::is_root()) {
            try {
                for (size_t rk = 1; rk < parts.size(); ++rk) {
                    dist::Unpacker u(parts[rk]);
                    while (!u.done()) accumulate(unpack_record(u));
                }
                summarize();
            } catch (const Error& e) {
                failure = dist::Failure{0, e.exit_code(), e.what()};
            }
        }
        dist::agree_or_throw(failure);
        if (!dist::is_root()) s.samples = n;  // rank 0 holds the summary...
        if (opt.share_result) broadcast_summary(s);  // ...unless every rank needs it
        return s;
    }
    summarize();
    return s;
}

double budget_drop(const AccuracySummary& s, std::string& metric) {
    if (s.reference_accuracy && s.candidate_accuracy) {
        metric = "label accuracy drop (points)";
        return *s.reference_accuracy - *s.candidate_accuracy;
    }
    for (const auto& o : s.outputs)
        if (o.top1_agreement) {
            metric = "top-1 disagreement with the reference (points), output '" + o.name + "'";
            return 100.0 - *o.top1_agreement;
        }
    metric = "relative RMS error of the outputs (percent)";
    double worst = 0;
    for (const auto& o : s.outputs) worst = std::max(worst, 100.0 * std::pow(10.0, -o.sqnr_db / 20.0));
    return worst;
}

namespace {

template <typename T>
void put_opt(dist::Packer& p, const std::optional<T>& v) {
    p.put<uint8_t>(v.has_value());
    if (v) p.put(*v);
}
template <typename T>
std::optional<T> get_opt(dist::Unpacker& u) {
    if (!u.get<uint8_t>()) return std::nullopt;
    return u.get<T>();
}

}  // namespace

void broadcast_summary(AccuracySummary& s) {
    if (dist::size() == 1) return;
    dist::Packer p;
    if (dist::is_root()) {
        p.put<int64_t>(s.samples);
        p.put<uint64_t>(s.outputs.size());
        for (const auto& o : s.outputs) {
            p.put_str(o.name);
            p.put(o.cosine);
            p.put(o.sqnr_db);
            p.put(o.max_abs);
            p.put(o.mean_abs);
            put_opt(p, o.top1_agreement);
        }
        put_opt(p, s.reference_accuracy);
        put_opt(p, s.candidate_accuracy);
        p.put<uint64_t>(s.layers.size());
        for (const auto& l : s.layers) {
            p.put_str(l.node);
            p.put_str(l.op_type);
            p.put_str(l.tensor);
            p.put_str(l.precision);
            p.put(l.sqnr_db);
            p.put(l.added_sqnr_db);
            p.put(l.inherited_sqnr_db);
            put_opt(p, l.input_scale);
            put_opt(p, l.input_zero_point);
            put_opt(p, l.sensitivity_db);
            put_opt(p, l.sparsity);
        }
        p.put<uint64_t>(s.histograms.size());
        for (const auto& h : s.histograms) {
            p.put_str(h.tensor);
            p.put(h.lo);
            p.put(h.hi);
            p.put_vec(h.counts);
            put_opt(p, h.clip_lo);
            put_opt(p, h.clip_hi);
        }
    }
    const std::string bytes = dist::broadcast(p.take());
    if (dist::is_root()) return;
    dist::Unpacker u(bytes);
    s.samples = u.get<int64_t>();
    s.outputs.assign(u.get<uint64_t>(), OutputMetrics{});
    for (auto& o : s.outputs) {
        o.name = u.get_str();
        o.cosine = u.get<double>();
        o.sqnr_db = u.get<double>();
        o.max_abs = u.get<double>();
        o.mean_abs = u.get<double>();
        o.top1_agreement = get_opt<double>(u);
    }
    s.reference_accuracy = get_opt<double>(u);
    s.candidate_accuracy = get_opt<double>(u);
    s.layers.assign(u.get<uint64_t>(), LayerMetrics{});
    for (auto& l : s.layers) {
        l.node = u.get_str();
        l.op_type = u.get_str();
        l.tensor = u.get_str();
        l.precision = u.get_str();
        l.sqnr_db = u.get<double>();
        l.added_sqnr_db = u.get<double>();
        l.inherited_sqnr_db = u.get<double>();
        l.input_scale = get_opt<float>(u);
        l.input_zero_point = get_opt<int32_t>(u);
        l.sensitivity_db = get_opt<double>(u);
        l.sparsity = get_opt<double>(u);
    }
    s.histograms.assign(u.get<uint64_t>(), HistogramData{});
    for (auto& h : s.histograms) {
        h.tensor = u.get_str();
        h.lo = u.get<double>();
        h.hi = u.get<double>();
        h.counts = u.get_vec<uint64_t>();
        h.clip_lo = get_opt<double>(u);
        h.clip_hi = get_opt<double>(u);
    }
    HQ_ASSERT(u.done(), "evaluate: trailing bytes in rank 0's summary");
}

}  // namespace hq::calib
