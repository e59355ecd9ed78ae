// Placeholder until this kernel family lands.
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

void register_conv(KernelRegistry&) {}

}  // namespace hq::exec::cpu
