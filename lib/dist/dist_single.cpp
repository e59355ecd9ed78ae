// hq::dist without MPI: one rank; collectives return this process's own values.
#include "dist/dist.h"
#include "dist/launcher.h"

namespace hq::dist {

std::string init(int*, char***) {
    if (launcher_size() > 1 && launcher_rank() == 0)
        return "this hyquant was built without MPI: the " + std::to_string(launcher_size()) +
               " processes the launcher started each run independently (every one on all the data, writing the same "
               "outputs); rebuild with libopenmpi-dev installed (-DHYQUANT_WITH_MPI=ON) to split the work";
    return "";
}
int finish(int rc, bool) { return rc; }
bool built_with_mpi() { return false; }
int rank() { return 0; }
int size() { return 1; }
std::vector<std::string> gather(const std::string& mine) { return {mine}; }
std::string broadcast(const std::string& root_bytes) { return root_bytes; }
void sum(std::vector<int64_t>&) {}
void min(std::vector<double>&) {}
void max(std::vector<double>&) {}

}  // namespace hq::dist
