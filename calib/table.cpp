#include "calib/table.h"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/error.h"
#include "core/fileio.h"
#include "core/hash.h"

namespace hq::calib {

using json = nlohmann::ordered_json;

std::string model_fingerprint(const std::string& model_path) {
    std::string bytes = read_file(model_path);
    return hex64(fnv1a64(bytes.data(), bytes.size()));
}

void CalibrationTable::merge(const CalibrationTable& o, const std::string& label) {
    HQ_CHECK(o.fingerprint == fingerprint, label, ": calibration table is for another model (fingerprint ",
             o.fingerprint, " vs ", fingerprint, ")");
    samples += o.samples;
    for (const auto& [name, h] : o.tensors) tensors[name].merge(h);
    sample_digests.insert(sample_digests.end(), o.sample_digests.begin(), o.sample_digests.end());
    nonfinite_inputs.insert(nonfinite_inputs.end(), o.nonfinite_inputs.begin(), o.nonfinite_inputs.end());
    sort_samples();
}

void CalibrationTable::sort_samples() {
    std::sort(sample_digests.begin(), sample_digests.end());
    std::sort(nonfinite_inputs.begin(), nonfinite_inputs.end());
}

size_t CalibrationTable::nonfinite_tensors() const {
    size_t n = 0;
    for (const auto& [name, h] : tensors) n += h.nan_count() || h.inf_count();
    return n;
}

CalibrationTable merge_tables(const std::vector<std::string>& paths, std::optional<Method> method,
                              std::optional<double> percentile) {
    HQ_CHECK(!paths.empty(), "calibrate --merge: no tables given");
    std::vector<CalibrationTable> tables;
    for (const auto& p : paths) tables.push_back(CalibrationTable::read(p));
    // The method: as asked, else the one every input was made with.
    for (size_t i = 1; i < tables.size() && !method; ++i)
        HQ_CHECK(tables[i].method == tables[0].method, paths[0], " (method ", method_name(tables[0].method), ") and ",
                 paths[i], " (method ", method_name(tables[i].method),
                 ") were made with different range methods: give --method to choose the merged table's");
    for (size_t i = 1; i < tables.size() && !percentile; ++i)
        HQ_CHECK(tables[i].percentile == tables[0].percentile, paths[0], " (percentile ", tables[0].percentile,
                 ") and ", paths[i], " (percentile ", tables[i].percentile,
                 ") were made with different percentiles: give --percentile to choose the merged table's");
    // Every sample may be counted once: a digest in two tables is refused, naming the sample and both tables.
    std::map<std::string, std::pair<std::string, size_t>> seen;  // digest -> (sample name, table index)
    for (size_t i = 0; i < tables.size(); ++i) {
        if (tables[i].sample_digests.empty() && tables[i].samples > 0)
            spdlog::warn("{}: records no sample digests (made by an older hyquant): its overlap with the other tables "
                         "cannot be checked",
                         paths[i]);
        for (const auto& [name, digest] : tables[i].sample_digests) {
            auto [it, fresh] = seen.emplace(digest, std::make_pair(name, i));
            if (fresh || it->second.second == i) continue;  // identical files within one run are its own data
            HQ_FAIL("sample '", name, "' of ", paths[i], " is also in ", paths[it->second.second], " (as '",
                    it->second.first, "', digest ", digest,
                    "): the tables overlap, merging them would count that sample twice");
        }
    }
    CalibrationTable t = std::move(tables[0]);
    for (size_t i = 1; i < tables.size(); ++i) t.merge(tables[i], paths[i]);
    if (method) t.method = *method;
    if (percentile) t.percentile = *percentile;
    return t;
}

static json range_json(const Range& r) { return json::array({r.lo, r.hi}); }

std::string CalibrationTable::to_json() const {
    json j;
    j["schema"] = kSchema;
    j["tool"] = "hyquant " HYQUANT_VERSION;
    j["model"] = model;
    j["model_fingerprint"] = fingerprint;
    j["samples"] = samples;
    j["method"] = method_name(method);
    j["percentile"] = percentile;
    j["histogram_bins"] = Histogram::kBins;
    // [sample name, FNV-1a 64 of its file bytes] per sample seen; absent in tables of older versions.
    if (!sample_digests.empty()) {
        json d = json::array();
        for (const auto& [name, digest] : sample_digests) d.push_back(json::array({name, digest}));
        j["sample_digests"] = d;
    }
    // [sample, input, NaN count, Inf count] per sample input that held non-finite values; absent when none did.
    if (!nonfinite_inputs.empty()) {
        json d = json::array();
        for (const auto& f : nonfinite_inputs) d.push_back(json::array({f.sample, f.input, f.nan, f.inf}));
        j["nonfinite_inputs"] = d;
    }
    if (ranks > 1) {
        j["ranks"] = ranks;
        json r = json::array();
        for (const auto& [b, e] : rank_samples) r.push_back(json::array({b, e}));
        j["rank_samples"] = r;
    }
    // One line per tensor: readable in a diff, and compact (histograms are long arrays).
    std::string out = "{\n";
    for (auto it = j.begin(); it != j.end(); ++it) out += "  " + json(it.key()).dump() + ": " + it.value().dump() + ",\n";
    out += "  \"tensors\": {";
    bool first = true;
    for (const auto& [name, h] : tensors) {
        json t;
        t["count"] = h.count();
        t["nan"] = h.nan_count();
        t["inf"] = h.inf_count();
        t["min"] = h.empty() ? json(nullptr) : json(h.min());
        t["max"] = h.empty() ? json(nullptr) : json(h.max());
        if (!h.empty() && !h.has_bins()) {
            t["ranges"] = json{{"minmax", range_json(compute_range(h, Method::MinMax))}};
            t["chosen"] = range_json(compute_range(h, Method::MinMax));
        } else if (!h.empty()) {
            const auto& b = h.bins();
            int first = 0, last = Histogram::kBins - 1;
            while (b[first] == 0) ++first;
            while (b[last] == 0) --last;
            json hist;
            hist["exponent"] = h.exponent();
            hist["range"] = json::array({-h.range(), h.range()});
            hist["first_bin"] = first;
            hist["counts"] = std::vector<uint64_t>(b.begin() + first, b.begin() + last + 1);
            t["histogram"] = hist;
            json r;
            for (Method m : {Method::MinMax, Method::Percentile, Method::Entropy, Method::Mse})
                r[method_name(m)] = range_json(compute_range(h, m, percentile));
            t["ranges"] = r;
            t["chosen"] = range_json(compute_range(h, method, percentile));
        }
        out += (first ? "\n    " : ",\n    ") + json(name).dump() + ": " + t.dump();
        first = false;
    }
    out += "\n  }\n}\n";
    return out;
}

void CalibrationTable::write(const std::string& path) const { write_file_atomic(path, to_json()); }

CalibrationTable CalibrationTable::read(const std::string& path) {
    std::string text = read_file(path, (size_t)1 << 32);
    CalibrationTable t;
    try {
        json j = json::parse(text);
        HQ_CHECK(j.value("schema", 0) == kSchema, path, ": not a hyquant calibration table of schema ", kSchema);
        t.model = j.value("model", "");
        t.fingerprint = j.at("model_fingerprint").get<std::string>();
        t.samples = j.at("samples").get<uint64_t>();
        t.method = parse_method(j.at("method").get<std::string>());
        t.percentile = j.at("percentile").get<double>();
        HQ_CHECK(j.at("histogram_bins").get<int>() == Histogram::kBins, path, ": histogram bins differ from ",
                 Histogram::kBins);
        if (j.contains("sample_digests"))
            for (const auto& d : j.at("sample_digests"))
                t.sample_digests.emplace_back(d.at(0).get<std::string>(), d.at(1).get<std::string>());
        if (j.contains("nonfinite_inputs"))
            for (const auto& d : j.at("nonfinite_inputs"))
                t.nonfinite_inputs.push_back({d.at(0).get<std::string>(), d.at(1).get<std::string>(),
                                              d.at(2).get<uint64_t>(), d.at(3).get<uint64_t>()});
        t.sort_samples();
        for (const auto& [name, tj] : j.at("tensors").items()) {
            uint64_t nan = tj.at("nan").get<uint64_t>(), inf = tj.at("inf").get<uint64_t>();
            if (!tj.contains("histogram")) {  // min/max only (or nothing finite seen)
                uint64_t count = tj.at("count").get<uint64_t>();
                float mn = count ? tj.at("min").get<float>() : 0.0f, mx = count ? tj.at("max").get<float>() : 0.0f;
                t.tensors[name] = Histogram::from_minmax(mn, mx, count, nan, inf);
                continue;
            }
            const auto& hj = tj.at("histogram");
            int first = hj.at("first_bin").get<int>();
            auto counts = hj.at("counts").get<std::vector<uint64_t>>();
            HQ_CHECK(first >= 0 && first + counts.size() <= (size_t)Histogram::kBins, path, ": tensor '", name,
                     "': histogram out of range");
            std::vector<uint64_t> bins(Histogram::kBins, 0);
            std::copy(counts.begin(), counts.end(), bins.begin() + first);
            t.tensors[name] = Histogram::from_parts(tj.at("min").get<float>(), tj.at("max").get<float>(), nan, inf,
                                                    hj.at("exponent").get<int>(), std::move(bins));
        }
    } catch (const json::exception& e) {
        HQ_FAIL(path, ": malformed calibration table: ", e.what());
    } catch (const Error& e) {
        std::string msg = e.what();
        if (msg.rfind(path, 0) == 0) throw;
        HQ_FAIL(path, ": ", msg);
    }
    return t;
}

}  // namespace hq::calib
