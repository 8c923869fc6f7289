// The test addon (build/Release/wavenet_test.node): entry points for tests only, kept out of the
// production addon. It links the same core library (the wn_core target of binding.gyp) as
// build/Release/wavenet.node, so it exercises the code users run, but it has its own copy of the core's
// process-wide state: configure() sets its run-time options (the SIMD variant) explicitly.
//   configure(kernels?: 'auto' | 'generic' | 'avx2' | 'avx512')   before the first gemm
//   kernels() -> the SIMD variant this addon dispatches to
//   gemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, mode) -> C updated in place
//     mode: 'sgemm' = wn::sgemm, 'naive' = the plain triple loop below (double accumulation),
//           'prepacked' = wn::sgemm_pack + wn::sgemm_prepacked
// Used by test/gemm.test.ts.
#include <napi.h>
#include <string>
#include <vector>
#include "cpu/gemm.h"
#include "src/napi_util.h"
#include "wavenet.h"

namespace {

// The reference product: C (=|+=) op(A) op(B) by the plain triple loop, accumulated in double.
void sgemm_naive(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float *C, int ldc, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = accumulate ? C[(long)i * ldc + j] : 0.0;
      for (int k = 0; k < K; ++k) {
        const double a = transA ? A[(long)k * lda + i] : A[(long)i * lda + k];
        const double b = transB ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
        s += a * b;
      }
      C[(long)i * ldc + j] = (float)s;
    }
}

Napi::Value Configure(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const std::string k = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "auto";
  wn_runtime_options o = wn_runtime_default_options();
  o.kernels = k.c_str();
  WNJS_CHECK(env, wn_runtime_configure(&o), "configure");
  return env.Undefined();
}

Napi::Value Kernels(const Napi::CallbackInfo &info) {
  wn_cpu_features f;
  wn_cpu_features_get(&f);
  return Napi::String::New(info.Env(), f.kernels);
}

Napi::Value Gemm(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const char *usage =
      "gemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, 'sgemm' | 'naive' | 'prepacked')";
  if (info.Length() < 13 || !info[12].IsString()) wnjs::type_error(env, usage);
  for (int i : {5, 7, 9})
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      wnjs::type_error(env, std::string(usage) + ": A, B and C must be Float32Arrays");
  const bool ta = info[0].ToBoolean(), tb = info[1].ToBoolean();
  const int M = info[2].As<Napi::Number>().Int32Value(), N = info[3].As<Napi::Number>().Int32Value(),
            K = info[4].As<Napi::Number>().Int32Value();
  auto A = info[5].As<Napi::Float32Array>(), B = info[7].As<Napi::Float32Array>(), C = info[9].As<Napi::Float32Array>();
  const int lda = info[6].As<Napi::Number>().Int32Value(), ldb = info[8].As<Napi::Number>().Int32Value(),
            ldc = info[10].As<Napi::Number>().Int32Value();
  const bool acc = info[11].ToBoolean();
  const std::string mode = info[12].As<Napi::String>().Utf8Value();
  if (mode != "sgemm" && mode != "naive" && mode != "prepacked") wnjs::type_error(env, usage);
  if (M < 1 || N < 1 || K < 0) wnjs::type_error(env, "gemm: bad sizes");
  if (lda < (ta ? M : K) || ldb < (tb ? K : N) || ldc < N)
    wnjs::type_error(env, "gemm: a leading dimension is too small");
  const size_t needA = K == 0 ? 0 : ta ? (size_t)(K - 1) * lda + M : (size_t)(M - 1) * lda + K;
  const size_t needB = K == 0 ? 0 : tb ? (size_t)(N - 1) * ldb + K : (size_t)(K - 1) * ldb + N;
  const size_t needC = (size_t)(M - 1) * ldc + N;
  if (A.ElementLength() < needA || B.ElementLength() < needB || C.ElementLength() < needC)
    wnjs::type_error(env, "gemm: an array is too small for the sizes");
  if (mode == "prepacked") {
    std::vector<float> bp(wn::sgemm_packed_size(N, K));
    wn::sgemm_pack(tb, N, K, B.Data(), ldb, bp.data());
    wn::sgemm_prepacked(ta, M, N, K, A.Data(), lda, bp.data(), C.Data(), ldc, acc);
  } else if (mode == "naive") {
    sgemm_naive(ta, tb, M, N, K, A.Data(), lda, B.Data(), ldb, C.Data(), ldc, acc);
  } else {
    wn::sgemm(ta, tb, M, N, K, A.Data(), lda, B.Data(), ldb, C.Data(), ldc, acc);
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("configure", Napi::Function::New(env, Configure));
  exports.Set("kernels", Napi::Function::New(env, Kernels));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  return exports;
}

}  // namespace

NODE_API_MODULE(wavenet_test, Init)
