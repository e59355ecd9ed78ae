// hyquant infer: runs a model over a data folder and writes every output as OUTDIR/<sample>/<output>.npy.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "calib/data_reader.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "core/progress.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"

namespace fs = std::filesystem;

namespace hq::app {

std::string sanitize_name(const std::string& s) {
    std::string r = s;
    for (auto& c : r)
        if (!(std::isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-')) c = '_';
    if (r.empty() || r == "." || r == "..") r = "_" + r;
    return r;
}

namespace {

// Files inside a staged folder need no atomic rename of their own: the folder appears whole.
void write_plain(const std::string& path, const std::string& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    HQ_CHECK(f, path, ": cannot create");
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    ok = std::fclose(f) == 0 && ok;
    HQ_CHECK(ok, path, ": write failed");
}

// A folder that appears at its path only when complete: filled under a temporary name, renamed at the end.
class StagedDir {
public:
    StagedDir(const std::string& target, bool overwrite) : target_(target) {
        fs::path t(target);
        fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
        std::error_code ec;
        HQ_CHECK(fs::is_directory(parent, ec), target, ": parent folder does not exist");
        if (fs::exists(t, ec)) {
            HQ_CHECK(fs::is_directory(t, ec), target, ": exists and is not a folder");
            HQ_CHECK(overwrite || fs::is_empty(t, ec), target, ": folder exists and is not empty (use --overwrite)");
        }
        std::string tmpl = (parent / ("." + t.filename().string() + ".tmp.XXXXXX")).string();
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        HQ_CHECK(::mkdtemp(buf.data()), target, ": cannot create a temporary folder next to it");
        tmp_ = buf.data();
    }
    ~StagedDir() {
        std::error_code ec;
        if (!tmp_.empty()) fs::remove_all(tmp_, ec);
    }
    const std::string& path() const { return tmp_; }
    void commit() {
        std::error_code ec;
        fs::permissions(tmp_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec, ec);
        if (fs::exists(target_, ec)) {
            std::string old = tmp_ + ".old";
            fs::rename(target_, old, ec);
            HQ_CHECK(!ec, target_, ": cannot replace: ", ec.message());
            fs::rename(tmp_, target_, ec);
            fs::remove_all(old, ec);
        } else {
            fs::rename(tmp_, target_, ec);
            HQ_CHECK(!ec, target_, ": cannot rename into place: ", ec.message());
        }
        tmp_.clear();
    }

private:
    std::string target_, tmp_;
};

}  // namespace

void add_infer(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("infer", "Run a model over a data folder; write each output as .npy");
    struct Opts {
        std::string model, data, out, save_inputs;
        bool overwrite = false, json = false;
        RunOptions run;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file")->required();
    cmd->add_option("--data", o->data,
                    "Data folder (see README: .npy, sub-folders, .pb, images); not needed by a model without inputs");
    cmd->add_option("-o,--output", o->out, "Output folder: OUTDIR/<sample>/<output>.npy")->required();
    cmd->add_flag("--overwrite", o->overwrite, "Replace OUTDIR (and --save-inputs DIR) if not empty");
    cmd->add_option("--save-inputs", o->save_inputs,
                    "Also write the model inputs as fed (after preprocessing): DIR/<sample>/<input>.npy");
    cmd->add_flag("--json", o->json, "Also print the summary as JSON on stdout");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o] {
        action = [o] {
            std::map<std::string, Shape> shapes;
            for (const auto& s : o->run.shapes) shapes.insert(parse_shape_arg(s));
            calib::ImageOptions io = o->run.image_options();
            graph::Model m = load_and_prepare(o->model, shapes, true);
            // A model without inputs (e.g. ONNX's test_constant) has nothing to feed: it runs once, as the
            // sample "run" (OUTDIR/run/<output>.npy). --data is not needed then; given, it is ignored with a note
            // rather than refused, so scripts that always pass --data work for such models too.
            const bool no_inputs = m.graph.inputs.empty();
            std::optional<calib::DataSource> data;
            if (no_inputs) {
                if (!o->data.empty())
                    spdlog::info("{}: the model has no inputs, so --data {} is ignored; it runs once (sample 'run')",
                                 o->model, o->data);
            } else {
                HQ_CHECK(!o->data.empty(), o->model, ": --data DIR is required (the model has inputs to feed)");
                data.emplace(o->data, m.graph.inputs, io);
            }
            const size_t n = data ? data->size() : 1;
            StagedDir out(o->out, o->overwrite);
            std::optional<StagedDir> saved;
            if (!o->save_inputs.empty()) saved.emplace(o->save_inputs, o->overwrite);
            auto backend = select_device(o->run);
            exec::Executor ex(m, *backend);
            Progress progress("infer", (int64_t)n);
            std::set<std::string> used_names;
            size_t nonfinite_files = 0;
            for (size_t i = 0; i < n; ++i) {
                calib::Sample s;
                if (data) s = data->load(i);
                else s.name = "run";
                std::map<std::string, Tensor> outs;
                try {
                    outs = ex.run(s.inputs);
                } catch (const Error& e) {
                    throw Error((data ? o->data + "/" + s.name : o->model) + ": " + e.what(), e.kind());
                }
                std::string sdir = sanitize_name(s.name);
                HQ_CHECK(used_names.insert(sdir).second, o->data, ": two samples map to the output folder '", sdir, "'");
                fs::create_directories(fs::path(out.path()) / sdir);
                if (saved) {
                    fs::create_directories(fs::path(saved->path()) / sdir);
                    for (const auto& [name, t] : s.inputs)
                        write_plain((fs::path(saved->path()) / sdir / (sanitize_name(name) + ".npy")).string(), to_npy(t));
                }
                for (const auto& ov : m.graph.outputs) {
                    std::string file = (fs::path(out.path()) / sdir / (sanitize_name(ov.name) + ".npy")).string();
                    const Tensor& t = outs.at(ov.name);
                    nonfinite_files += calib::count_nonfinite(t).total() > 0;
                    write_plain(file, to_npy(t));
                }
                progress.tick();
            }
            progress.finish();
            log_backend_summary(*backend);
            out.commit();
            if (saved) saved->commit();
            const size_t files = n * m.graph.outputs.size();
            spdlog::info("wrote {} {} x {} outputs ({} .npy files) to {}{}", n, n == 1 ? "sample" : "samples",
                         m.graph.outputs.size(), files, o->out,
                         nonfinite_files ? fmt::format("; {} of them hold NaN/Inf values", nonfinite_files) : "");
            if (o->json) {
                Json j{{"command", "infer"}, {"output", o->out}, {"samples", n}};
                Json outputs = Json::array();
                for (const auto& ov : m.graph.outputs) outputs.push_back(ov.name);
                j["outputs"] = outputs;
                j["files"] = files;
                j["nonfinite_files"] = nonfinite_files;
                j["saved_inputs"] = o->save_inputs.empty() ? Json(nullptr) : Json(o->save_inputs);
                print_json(j);
            }
            return 0;
        };
    });
}

}  // namespace hq::app
