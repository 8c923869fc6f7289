// CUDA device query (compiled only when nvcc is found at build time).
#include <cstring>
#include <string>
#include "cuda/common.cuh"

extern "C" int wn_cuda_compiled(void) { return 1; }

static wn_status cuda_query(int *runtime_version, int *driver_version, int *device_count) {
  *runtime_version = 0;
  *driver_version = 0;
  *device_count = 0;
  cudaRuntimeGetVersion(runtime_version);
  cudaError_t e = cudaDriverGetVersion(driver_version);
  if (e != cudaSuccess || *driver_version == 0)
    return wn::fail(WN_ERR_UNSUPPORTED, "no NVIDIA driver found (libcuda.so is not loadable)");
  e = cudaGetDeviceCount(device_count);
  if (e != cudaSuccess) {
    *device_count = 0;
    std::string why = cudaGetErrorString(e);
    if (e == cudaErrorInsufficientDriver)
      why = "the NVIDIA driver (" + std::to_string(*driver_version) + ") is older than the CUDA runtime (" +
            std::to_string(*runtime_version) + ") this build needs";
    return wn::fail(WN_ERR_UNSUPPORTED, "no usable CUDA device: " + why);
  }
  if (*device_count == 0) return wn::fail(WN_ERR_UNSUPPORTED, "no CUDA device found");
  return WN_OK;
}

extern "C" wn_status wn_cuda_query(int *runtime_version, int *driver_version, int *device_count) {
  WN_GUARD(cuda_query(runtime_version, driver_version, device_count))
}

static wn_status cuda_device(int index, wn_cuda_device_info *out) {
  cudaDeviceProp p;
  WN_CUDA_TRY(cudaGetDeviceProperties(&p, index));
  std::memset(out, 0, sizeof *out);
  std::strncpy(out->name, p.name, sizeof(out->name) - 1);
  out->major = p.major;
  out->minor = p.minor;
  out->total_memory = p.totalGlobalMem;
  out->multiprocessors = p.multiProcessorCount;
  return WN_OK;
}

extern "C" wn_status wn_cuda_device(int index, wn_cuda_device_info *out) { WN_GUARD(cuda_device(index, out)) }
