// hyquant infer: runs a model over a data folder and writes every output as .npy.
#include "apps/hyquant/commands.h"

namespace hq::app {

void add_infer(CLI::App& app, Action& action) {}

}  // namespace hq::app
