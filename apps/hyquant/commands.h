// Subcommand registration: each file adds one subcommand to the CLI and sets the action to run.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "calib/accuracy.h"
#include "graph/graph.h"

namespace hq::app {

// The action of the chosen subcommand; returns the process exit code (0, or 3 for a broken budget).
using Action = std::function<int()>;

void add_inspect(CLI::App& app, Action& action);
void add_infer(CLI::App& app, Action& action);
void add_calibrate(CLI::App& app, Action& action);
void add_quantize(CLI::App& app, Action& action);
void add_evaluate(CLI::App& app, Action& action);
void add_prune(CLI::App& app, Action& action);

// Every command ends with a one-to-three-line summary of what it wrote and found (info, on stderr); with
// --json the same summary as one JSON object on stdout, printed by print_json (keys in insertion order,
// always "command" first).
using Json = nlohmann::ordered_json;
void print_json(const Json& summary);
// "a, b, c"
std::string join_list(const std::vector<std::string>& items);

// One clause for a summary line: label accuracy of both models and the drop when labels were given, else the
// first classifier output's top-1 agreement, else the worst output SQNR.
std::string accuracy_clause(const calib::AccuracySummary& s);
// The machine-readable version: samples, outputs[{name, cosine, sqnr_db, max_abs, mean_abs, top1_agreement}],
// accuracy{reference, candidate, drop_points} (null without labels), budget{metric, drop, max_drop, ok}.
Json accuracy_summary_json(const calib::AccuracySummary& s);

// Logs per-output metrics, accuracies and the worst layers of an evaluation.
void print_accuracy(const calib::AccuracySummary& s);

// "x=1x3x48x192" -> {"x", {1,3,48,192}}; throws hq::Error on a malformed value.
std::pair<std::string, Shape> parse_shape_arg(const std::string& s);
// Loads a model, fixes the given input shapes, infers shapes and runs the graph pass pipeline.
graph::Model load_and_prepare(const std::string& path, const std::map<std::string, Shape>& shapes, bool run_passes);
// Runs `fn` on rank 0 of an MPI job (the whole of a one-process run) and makes every rank agree on its outcome:
// an hq::Error in it ends every rank with its exit code (dist::agree_or_throw). For writing outputs.
void run_on_root(const std::function<void()>& fn);
// The command line as one string (for model metadata).
std::string command_line();
void set_command_line(int argc, char** argv);

}  // namespace hq::app
