// HQ_HIP_CHECK(call): runs a HIP runtime call and throws hq::Error (exit code 1) naming the call, the
// error's name and message, and the source line when it fails. Never exits or aborts.
// HQ_HIP_CHECK_LAUNCH("kernel"): the same for the kernel launched just before (hipGetLastError).
#pragma once
#include <hip/hip_runtime_api.h>

#include <string>

#include "core/error.h"

namespace hq::exec::hip {

// "hipErrorOutOfMemory (out of memory)"; the name alone where the runtime's message repeats it.
inline std::string hip_error_text(hipError_t e) {
    const std::string name = hipGetErrorName(e), msg = hipGetErrorString(e);
    return msg.empty() || msg == name ? name : name + " (" + msg + ")";
}

[[noreturn]] inline void throw_hip_error(const char* what, hipError_t e, const char* file, int line) {
    (void)hipGetLastError();  // reset the runtime's last error so a later launch check does not report this one
    std::string f = file;
    const size_t cut = f.rfind("lib/exec/hip/");
    if (cut != std::string::npos) f = f.substr(cut);
    throw Error(std::string("HIP call failed: ") + what + ": " + hip_error_text(e) + " at " + f + ":" + std::to_string(line),
                ErrorKind::Internal);
}

}  // namespace hq::exec::hip

#define HQ_HIP_CHECK(call)                                                           \
    do {                                                                             \
        const hipError_t hq_hip_err_ = (call);                                       \
        if (hq_hip_err_ != hipSuccess)                                               \
            ::hq::exec::hip::throw_hip_error(#call, hq_hip_err_, __FILE__, __LINE__); \
    } while (0)

#define HQ_HIP_CHECK_LAUNCH(kernel_name)                                                                   \
    do {                                                                                                   \
        const hipError_t hq_hip_err_ = hipGetLastError();                                                  \
        if (hq_hip_err_ != hipSuccess)                                                                     \
            ::hq::exec::hip::throw_hip_error("launch of kernel " kernel_name, hq_hip_err_, __FILE__, __LINE__); \
    } while (0)
