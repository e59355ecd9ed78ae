// Internal to lib/dist: what the launcher (mpirun, srun) told this process through the environment.
#pragma once
#include <cstdint>

namespace hq::dist {
int64_t env_int(const char* name);  // -1 when unset or not an integer
int64_t launcher_size();            // processes the launcher started (1 when none)
int64_t launcher_rank();            // this one's rank among them (0 when none)
}  // namespace hq::dist
