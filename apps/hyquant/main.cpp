// hyquant: the command line. The only place that catches errors, logs the final one and sets the exit code.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <new>

#include "apps/hyquant/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "dist/dist.h"

int main(int argc, char** argv) {
    // Activation buffers come and go at every node of every sample. glibc serves blocks above its (adaptive) mmap
    // threshold with fresh mmaps and trims freed heap tops, so each sample paid page faults on all of its tensors
    // again (a third of small CNNs' run time). Blocks up to 32 MiB (glibc's ceiling) now stay in the heap and are
    // reused, as ONNX Runtime's arena does; weights and big tensors above that are still mapped and returned.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    hq::app::set_command_line(argc, argv);
    CLI::App app{"hyquant " HYQUANT_VERSION
                 " - calibrate, quantize (INT8/FP16/mixed), prune and evaluate ONNX models for Hygon DCU and any ONNX engine"};
    app.require_subcommand(1);
    app.fallthrough();
    app.set_version_flag("--version", HYQUANT_VERSION);
    std::string level = "info";
    bool quiet = false;
    app.add_option("--log-level", level, "trace|debug|info|warn|error|off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    app.add_flag("-q,--quiet", quiet, "Only warnings and errors; no progress");

    hq::app::Action action;
    hq::app::add_inspect(app, action);
    hq::app::add_infer(app, action);
    hq::app::add_calibrate(app, action);
    hq::app::add_quantize(app, action);
    hq::app::add_evaluate(app, action);
    hq::app::add_prune(app, action);


    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    auto logger = spdlog::stderr_color_mt("hyquant");
    logger->set_pattern("%^%l%$: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(quiet && level == "info" ? spdlog::level::warn : spdlog::level::from_str(level));
    hq::Progress::set_enabled(!quiet);

    // Under mpirun/srun: one rank of a job (lib/dist). Only rank 0 shows progress and logs below errors; the
    // others log errors only (prefixed with their rank), and errors every rank agreed on only on rank 0.
    std::string note;
    try {
        note = hq::dist::init(&argc, &argv);
    } catch (const hq::Error& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    if (!note.empty()) spdlog::warn("{}", note);
    if (hq::dist::size() > 1 && !hq::dist::is_root()) {
        logger->set_pattern(fmt::format("%^%l%$: rank {}: %v", hq::dist::rank()));
        spdlog::set_level(std::max(spdlog::get_level(), spdlog::level::err));
        hq::Progress::set_enabled(false);
    }

    bool agreed = true;  // false: an error only this rank knows of (the job is then aborted on every rank)
    int rc = 0;
    try {
        rc = action ? action() : 0;
    } catch (const hq::dist::AgreedError& e) {
        if (!e.quiet()) spdlog::error("{}", e.what());
        rc = e.exit_code();
    } catch (const hq::Error& e) {
        spdlog::error("{}", e.what());
        rc = e.exit_code();
        agreed = false;
    } catch (const std::bad_alloc&) {
        spdlog::error("out of memory");
        rc = 1;
        agreed = false;
    } catch (const std::exception& e) {
        spdlog::error("internal error: {}", e.what());
        rc = 1;
        agreed = false;
    }
    return hq::dist::finish(rc, agreed);
}
