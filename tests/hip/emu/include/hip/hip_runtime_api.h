// hipemu: the subset of the HIP runtime API hyquant uses, implemented on the host (tests/hip/emu/hipemu.cpp).
// "Device" memory is host memory, copies are memcpy, kernels run to completion at launch, one emulated device.
// Test-only: it lets hq_backend_tests_emu run every kernel and the whole HIP backend on a machine without a GPU.
#pragma once
#include <cstddef>
#include <cstdint>

typedef enum hipError_t {
    hipSuccess = 0,
    hipErrorInvalidValue = 1,
    hipErrorOutOfMemory = 2,
    hipErrorInvalidDevice = 101,
    hipErrorNoDevice = 100,
    hipErrorLaunchFailure = 719,
} hipError_t;

typedef enum hipMemcpyKind {
    hipMemcpyHostToHost = 0,
    hipMemcpyHostToDevice = 1,
    hipMemcpyDeviceToHost = 2,
    hipMemcpyDeviceToDevice = 3,
    hipMemcpyDefault = 4,
} hipMemcpyKind;

typedef struct ihipStream_t* hipStream_t;
#define hipStreamNonBlocking 0x01

typedef struct hipDeviceProp_t {
    char name[256];
    size_t totalGlobalMem;
    int warpSize;
    char gcnArchName[256];
} hipDeviceProp_t;

const char* hipGetErrorName(hipError_t e);
const char* hipGetErrorString(hipError_t e);
hipError_t hipGetLastError();
hipError_t hipGetDeviceCount(int* n);
hipError_t hipSetDevice(int d);
hipError_t hipGetDeviceProperties(hipDeviceProp_t* p, int d);
hipError_t hipDeviceGetName(char* name, int len, int d);
hipError_t hipDeviceTotalMem(size_t* bytes, int d);
hipError_t hipMalloc(void** p, size_t bytes);
hipError_t hipFree(void* p);
hipError_t hipMemcpy(void* dst, const void* src, size_t bytes, hipMemcpyKind kind);
hipError_t hipMemcpyAsync(void* dst, const void* src, size_t bytes, hipMemcpyKind kind, hipStream_t s);
hipError_t hipMemsetAsync(void* dst, int value, size_t bytes, hipStream_t s);
hipError_t hipStreamCreateWithFlags(hipStream_t* s, unsigned flags);
hipError_t hipStreamSynchronize(hipStream_t s);
hipError_t hipStreamDestroy(hipStream_t s);
