#include "calib/table.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/error.h"
#include "core/fileio.h"

namespace hq::calib {

using json = nlohmann::ordered_json;

std::string model_fingerprint(const std::string& model_path) {
    std::string bytes = read_file(model_path);
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

void CalibrationTable::merge(const CalibrationTable& o, const std::string& label) {
    HQ_CHECK(o.fingerprint == fingerprint, label, ": calibration table is for another model (fingerprint ",
             o.fingerprint, " vs ", fingerprint, ")");
    samples += o.samples;
    for (const auto& [name, h] : o.tensors) tensors[name].merge(h);
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
