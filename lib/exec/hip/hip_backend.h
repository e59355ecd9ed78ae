// The HIP backend (Hygon DCUs / AMD GPUs): nodes with a HIP kernel run on the device, the others on a CPU
// fallback backend, node by node. Built only with -DHYQUANT_WITH_HIP=ON.
#pragma once
#include <memory>
#include <string>

#include "exec/backend.h"

namespace hq::exec::hip {
// Number of usable HIP devices; 0 with *why set (the failing call and its error, e.g. "hipGetDeviceCount: hipErrorNoDevice ...") when none.
int device_count(std::string* why);
// Device name for logs, e.g. "gfx906 (Vega 20) 32 GiB".
std::string device_name(int device);
// Backend on HIP device `device`; nodes without a HIP kernel (or with attributes it does not handle) run on `cpu_fallback`, counted in summary().
std::unique_ptr<Backend> make_backend(int device, std::unique_ptr<Backend> cpu_fallback);
}  // namespace hq::exec::hip
