// hipemu: host implementation of the HIP subset in tests/hip/emu/include (runtime calls and a fiber scheduler
// for kernels). One block runs at a time; each work-item is a ucontext fiber that runs until it reaches
// __syncthreads, a wavefront shuffle, or its end. A barrier opens when every work-item of the block (or of the
// wavefront) waits at it; a work-item that ended while others wait at a barrier is reported as divergent
// synchronization. The wavefront size is 64 (GCN/CDNA, Hygon DCUs) unless HIPEMU_WARP_SIZE says otherwise.
#include <hip/hip_runtime.h>
#include <ucontext.h>
#undef warpSize  // the device-side macro; hipDeviceProp_t has a member of that name

#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define HIPEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HIPEMU_ASAN 1
#endif
#endif
#if defined(HIPEMU_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace hipemu {

dim3 block_idx, block_dim, grid_dim;
int warp_size = [] {
    const char* w = std::getenv("HIPEMU_WARP_SIZE");
    return w ? std::atoi(w) : 64;
}();

namespace {

constexpr size_t kStack = 256 * 1024;

enum class St { Ready, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    dim3 tid;
    St st = St::Ready;
    int warp_phase = 0;
};

std::vector<Fiber> fibers;
std::vector<float> shfl_slots;
ucontext_t sched_ctx;
int current = -1;
const std::function<void()>* body = nullptr;
hipError_t last_error = hipSuccess;
#if defined(HIPEMU_ASAN)
void* sched_fake = nullptr;
const void* sched_bottom = nullptr;
size_t sched_size = 0;
#endif

void to_scheduler(bool dying) {
#if defined(HIPEMU_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(dying ? nullptr : &fake, sched_bottom, sched_size);
    swapcontext(&fibers[current].ctx, &sched_ctx);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    (void)dying;
    swapcontext(&fibers[current].ctx, &sched_ctx);
#endif
}

void fiber_entry() {
#if defined(HIPEMU_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, &sched_bottom, &sched_size);
#endif
    (*body)();
    fibers[current].st = St::Done;
    to_scheduler(true);
}

void switch_to(int i) {
    current = i;
#if defined(HIPEMU_ASAN)
    __sanitizer_start_switch_fiber(&sched_fake, fibers[i].stack.data(), fibers[i].stack.size());
    swapcontext(&sched_ctx, &fibers[i].ctx);
    __sanitizer_finish_switch_fiber(sched_fake, nullptr, nullptr);
#else
    swapcontext(&sched_ctx, &fibers[i].ctx);
#endif
    current = -1;
}

// Waits until every work-item of the caller's wavefront is here.
void warp_barrier() {
    fibers[current].st = St::AtWarpBarrier;
    to_scheduler(false);
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("hipemu: block (" + std::to_string(block_idx.x) + "," + std::to_string(block_idx.y) + "," +
                             std::to_string(block_idx.z) + "): " + what);
}

}  // namespace

const dim3& thread_idx() { return fibers[current].tid; }

void syncthreads() {
    fibers[current].st = St::AtBlockBarrier;
    to_scheduler(false);
}

float shfl_xor(float v, int mask) {
    const int lane = current % warp_size, base = current - lane, partner = lane ^ mask;
    shfl_slots[current] = v;
    warp_barrier();
    const float r = partner < warp_size && base + partner < (int)fibers.size() ? shfl_slots[base + partner] : v;
    warp_barrier();
    return r;
}

void set_launch_error(hipError_t e) { last_error = e; }

void run_block(const std::function<void()>& fn) {
    const int n = (int)(block_dim.x * block_dim.y * block_dim.z);
    if ((int)fibers.size() < n) {
        fibers.resize(n);
        shfl_slots.resize(n);
    }
    body = &fn;
    for (int i = 0; i < n; ++i) {
        Fiber& f = fibers[i];
        if (f.stack.empty()) f.stack.resize(kStack);
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = f.stack.size();
        f.ctx.uc_link = &sched_ctx;
        makecontext(&f.ctx, fiber_entry, 0);
        f.tid = dim3(i % block_dim.x, (i / block_dim.x) % block_dim.y, i / (block_dim.x * block_dim.y));
        f.st = St::Ready;
    }
    for (;;) {
        bool ran = false;
        for (int i = 0; i < n; ++i)
            if (fibers[i].st == St::Ready) {
                switch_to(i);
                ran = true;
            }
        if (ran) continue;
        int done = 0, at_block = 0;
        for (int i = 0; i < n; ++i) {
            done += fibers[i].st == St::Done;
            at_block += fibers[i].st == St::AtBlockBarrier;
        }
        if (done == n) break;
        // Wavefront barriers: open when every work-item of the wavefront waits at one.
        bool opened = false;
        for (int w = 0; w < n; w += warp_size) {
            const int end = std::min(n, w + warp_size);
            int waiting = 0, finished = 0;
            for (int i = w; i < end; ++i) {
                waiting += fibers[i].st == St::AtWarpBarrier;
                finished += fibers[i].st == St::Done;
            }
            if (waiting == 0) continue;
            if (waiting == end - w) {
                for (int i = w; i < end; ++i) fibers[i].st = St::Ready;
                opened = true;
            } else if (finished > 0 || waiting + finished + at_block == end - w) {
                fail("a wavefront shuffle reached by " + std::to_string(waiting) + " of " + std::to_string(end - w) +
                     " work-items of wavefront " + std::to_string(w / warp_size));
            }
        }
        if (opened) continue;
        if (at_block == n) {
            for (int i = 0; i < n; ++i) fibers[i].st = St::Ready;
            continue;
        }
        fail("__syncthreads reached by " + std::to_string(at_block) + " of " + std::to_string(n) + " work-items (" +
             std::to_string(done) + " have ended): divergent barrier");
    }
    body = nullptr;
}

}  // namespace hipemu

// ------------------------------------------------------------------------------------------ runtime API

namespace {
std::map<void*, size_t> allocations;
constexpr size_t kDeviceMemory = size_t(8) << 30;
size_t in_use = 0;
int current_device = 0;
hipError_t fail(hipError_t e) {
    hipemu::last_error = e;
    return e;
}
}  // namespace

const char* hipGetErrorName(hipError_t e) {
    switch (e) {
        case hipSuccess: return "hipSuccess";
        case hipErrorInvalidValue: return "hipErrorInvalidValue";
        case hipErrorOutOfMemory: return "hipErrorOutOfMemory";
        case hipErrorInvalidDevice: return "hipErrorInvalidDevice";
        case hipErrorNoDevice: return "hipErrorNoDevice";
        case hipErrorLaunchFailure: return "hipErrorLaunchFailure";
    }
    return "hipErrorUnknown";
}
const char* hipGetErrorString(hipError_t e) {
    switch (e) {
        case hipSuccess: return "no error";
        case hipErrorInvalidValue: return "invalid argument";
        case hipErrorOutOfMemory: return "out of memory";
        case hipErrorInvalidDevice: return "invalid device ordinal";
        default: return "emulated error";
    }
}
hipError_t hipGetLastError() {
    const hipError_t e = hipemu::last_error;
    hipemu::last_error = hipSuccess;
    return e;
}
hipError_t hipGetDeviceCount(int* n) {
    *n = 1;
    return hipSuccess;
}
hipError_t hipSetDevice(int d) {
    if (d != 0) return fail(hipErrorInvalidDevice);
    current_device = d;
    return hipSuccess;
}
hipError_t hipGetDeviceProperties(hipDeviceProp_t* p, int d) {
    if (d != 0) return fail(hipErrorInvalidDevice);
    std::memset(p, 0, sizeof(*p));
    std::snprintf(p->name, sizeof(p->name), "hipemu CPU emulation, wavefront %d", hipemu::warp_size);
    std::snprintf(p->gcnArchName, sizeof(p->gcnArchName), "emu:xnack-");
    p->totalGlobalMem = kDeviceMemory;
    p->warpSize = hipemu::warp_size;
    return hipSuccess;
}
hipError_t hipDeviceGetName(char* name, int len, int d) {
    if (d != 0) return fail(hipErrorInvalidDevice);
    std::snprintf(name, len, "hipemu");
    return hipSuccess;
}
hipError_t hipDeviceTotalMem(size_t* bytes, int d) {
    if (d != 0) return fail(hipErrorInvalidDevice);
    *bytes = kDeviceMemory;
    return hipSuccess;
}
hipError_t hipMalloc(void** p, size_t bytes) {
    if (bytes > kDeviceMemory - in_use) return fail(hipErrorOutOfMemory);
    *p = std::malloc(bytes ? bytes : 1);
    if (!*p) return fail(hipErrorOutOfMemory);
    std::memset(*p, 0xA5, bytes);  // device memory starts as garbage, not zeros
    allocations[*p] = bytes;
    in_use += bytes;
    return hipSuccess;
}
hipError_t hipFree(void* p) {
    if (!p) return hipSuccess;
    auto it = allocations.find(p);
    if (it == allocations.end()) return fail(hipErrorInvalidValue);
    in_use -= it->second;
    allocations.erase(it);
    std::free(p);
    return hipSuccess;
}
hipError_t hipMemcpy(void* dst, const void* src, size_t bytes, hipMemcpyKind) {
    if (bytes) std::memmove(dst, src, bytes);
    return hipSuccess;
}
hipError_t hipMemcpyAsync(void* dst, const void* src, size_t bytes, hipMemcpyKind k, hipStream_t) {
    return hipMemcpy(dst, src, bytes, k);
}
hipError_t hipMemsetAsync(void* dst, int value, size_t bytes, hipStream_t) {
    if (bytes) std::memset(dst, value, bytes);
    return hipSuccess;
}
hipError_t hipStreamCreateWithFlags(hipStream_t* s, unsigned) {
    *s = reinterpret_cast<hipStream_t>(new int(0));
    return hipSuccess;
}
hipError_t hipStreamSynchronize(hipStream_t) { return hipSuccess; }
hipError_t hipStreamDestroy(hipStream_t s) {
    delete reinterpret_cast<int*>(s);
    return hipSuccess;
}
