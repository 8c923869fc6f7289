// N-API bindings for the core section of wavenet.h: mu-law, CPU features (and the GEMM rate), CUDA query, layout.
#include <vector>
#include "napi_util.h"
#include "napi_init.h"
#include "wn_train.h"

namespace wnjs {

wn_config config_from_js(Napi::Env env, const Napi::Value &v) {
  if (!v.IsObject()) type_error(env, "config must be an object");
  Napi::Object o = v.As<Napi::Object>();
  wn_config c{};
  Napi::Value d = o.Get("dilations");
  if (!d.IsArray()) type_error(env, "config.dilations must be an array");
  Napi::Array a = d.As<Napi::Array>();
  if (a.Length() < 1 || a.Length() > WN_MAX_LAYERS) type_error(env, "config.dilations: 1..256 layers");
  c.n_layers = (int)a.Length();
  for (uint32_t i = 0; i < a.Length(); ++i) c.dilations[i] = a.Get(i).As<Napi::Number>().Int32Value();
  auto num = [&](const char *k, int def) {
    Napi::Value x = o.Get(k);
    if (x.IsUndefined()) return def;
    if (!x.IsNumber()) type_error(env, std::string("config.") + k + " must be a number");
    return x.As<Napi::Number>().Int32Value();
  };
  c.residual = num("residual", 64);
  c.dilation = num("dilation", 64);
  c.skip = num("skip", 256);
  c.head = num("head", 256);
  c.classes = num("classes", 256);
  WNJS_CHECK(env, wn_config_check(&c), "config");
  return c;
}

static bool is_typed(const Napi::Value &v, napi_typedarray_type t) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == t;
}

// mulawEncode / mulawDecode: info[0] a typed array of In, optional mu (1..255, default 255), a new array of Out.
template <typename In, typename Out>
static Napi::Value mulaw_map(const Napi::CallbackInfo &info, napi_typedarray_type in_type, const char *usage,
                             void (*fn)(const In *, size_t, int, Out *)) {
  Napi::Env env = info.Env();
  if (!is_typed(info[0], in_type)) type_error(env, usage);
  auto x = info[0].As<Napi::TypedArrayOf<In>>();
  int mu = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 255;
  if (mu < 1 || mu > 255) type_error(env, "mu must be 1..255");
  auto out = Napi::TypedArrayOf<Out>::New(env, x.ElementLength());
  fn(x.Data(), x.ElementLength(), mu, out.Data());
  return out;
}

static Napi::Value MulawEncode(const Napi::CallbackInfo &info) {
  return mulaw_map<float, uint8_t>(info, napi_float32_array, "mulawEncode(x: Float32Array, mu?: number)",
                                   wn_mulaw_encode);
}

static Napi::Value MulawDecode(const Napi::CallbackInfo &info) {
  return mulaw_map<uint8_t, float>(info, napi_uint8_array, "mulawDecode(q: Uint8Array, mu?: number)", wn_mulaw_decode);
}

static Napi::Value CpuFeatures(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  wn_cpu_features f;
  wn_cpu_features_get(&f);
  Napi::Object o = Napi::Object::New(env);
  o.Set("arch", f.arch);
  o.Set("kernels", f.kernels);
  o.Set("threads", f.threads);
  Napi::Object fl = Napi::Object::New(env);
  fl.Set("sse4.2", (bool)f.sse42);
  fl.Set("avx", (bool)f.avx);
  fl.Set("avx2", (bool)f.avx2);
  fl.Set("fma", (bool)f.fma);
  fl.Set("f16c", (bool)f.f16c);
  fl.Set("avx512f", (bool)f.avx512f);
  fl.Set("avx512bw", (bool)f.avx512bw);
  fl.Set("avx512vl", (bool)f.avx512vl);
  fl.Set("avx512dq", (bool)f.avx512dq);
  fl.Set("avx512bf16", (bool)f.avx512bf16);
  fl.Set("neon", (bool)f.neon);
  o.Set("flags", fl);
  return o;
}

// cpuGemmRate(n, seconds) -> {gflops, gflopsPerCpu}: wn_cpu_gemm_rate, for `wavenet bench synth --kernels`.
static Napi::Value CpuGemmRate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    type_error(env, "cpuGemmRate(n: number, seconds: number)");
  wn_gemm_rate r;
  WNJS_CHECK(env,
             wn_cpu_gemm_rate(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().DoubleValue(), &r),
             "cpuGemmRate");
  Napi::Object o = Napi::Object::New(env);
  o.Set("gflops", r.gflops);
  o.Set("gflopsPerCpu", r.gflops_per_cpu);
  return o;
}

static Napi::Value CudaQuery(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", (bool)wn_cuda_compiled());
  int rt = 0, drv = 0, n = 0;
  wn_status s = wn_cuda_query(&rt, &drv, &n);
  o.Set("runtimeVersion", rt);
  o.Set("driverVersion", drv);
  Napi::Array devs = Napi::Array::New(env);
  if (s == WN_OK) {
    for (int i = 0; i < n; ++i) {
      wn_cuda_device_info d;
      if (wn_cuda_device(i, &d) != WN_OK) continue;
      Napi::Object x = Napi::Object::New(env);
      x.Set("index", i);
      x.Set("name", d.name);
      x.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
      x.Set("totalMemory", (double)d.total_memory);
      x.Set("multiprocessors", d.multiprocessors);
      devs.Set(devs.Length(), x);
    }
    o.Set("usable", devs.Length() > 0);
    o.Set("reason", devs.Length() > 0 ? Napi::Value(env.Null()) : Napi::String::New(env, wn_last_error()));
  } else {
    o.Set("usable", false);
    o.Set("reason", wn_last_error());
  }
  o.Set("devices", devs);
  return o;
}

static Napi::Value Layout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  wn_config c = config_from_js(env, info[0]);
  wn_layout l;
  wn_layout_get(&c, &l);
  Napi::Object o = Napi::Object::New(env);
  o.Set("inputEmbed", (double)l.input_embed);
  o.Set("inputBias", (double)l.input_bias);
  o.Set("head1W", (double)l.head1_w);
  o.Set("head1B", (double)l.head1_b);
  o.Set("head2W", (double)l.head2_w);
  o.Set("head2B", (double)l.head2_b);
  o.Set("total", (double)l.total);
  o.Set("receptiveField", wn_receptive_field(&c));
  Napi::Array layers = Napi::Array::New(env, c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    wn_layer_layout ll;
    wn_layer_layout_get(&c, i, &ll);
    Napi::Object x = Napi::Object::New(env);
    x.Set("gateW", (double)ll.gate_w);
    x.Set("gateB", (double)ll.gate_b);
    x.Set("skipW", (double)ll.skip_w);
    x.Set("skipB", (double)ll.skip_b);
    x.Set("resW", (double)ll.res_w);
    x.Set("resB", (double)ll.res_b);
    layers.Set(i, x);
  }
  o.Set("layers", layers);
  return o;
}

static Napi::Value ReferenceLogits(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  wn_config c = config_from_js(env, info[0]);
  if (!is_typed(info[1], napi_float32_array) || !is_typed(info[2], napi_uint8_array))
    type_error(env, "referenceLogits(config, params: Float32Array, classes: Uint8Array)");
  auto p = info[1].As<Napi::Float32Array>();
  auto x = info[2].As<Napi::Uint8Array>();
  wn_layout L;
  wn_layout_get(&c, &L);
  if (p.ElementLength() != L.total)
    type_error(env, "referenceLogits: params has " + std::to_string(p.ElementLength()) + " floats, the config needs " +
                        std::to_string(L.total));
  auto out = Napi::Float32Array::New(env, x.ElementLength() * (size_t)c.classes);
  WNJS_CHECK(env, wn_reference_logits(&c, p.Data(), x.Data(), (int)x.ElementLength(), out.Data()), "referenceLogits");
  return out;
}

void InitCore(Napi::Env env, Napi::Object exports) {
  exports.Set("referenceLogits", Napi::Function::New(env, ReferenceLogits));
  exports.Set("mulawEncode", Napi::Function::New(env, MulawEncode));
  exports.Set("mulawDecode", Napi::Function::New(env, MulawDecode));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures));
  exports.Set("cpuGemmRate", Napi::Function::New(env, CpuGemmRate));
  exports.Set("cudaQuery", Napi::Function::New(env, CudaQuery));
  exports.Set("layout", Napi::Function::New(env, Layout));
}

}  // namespace wnjs
