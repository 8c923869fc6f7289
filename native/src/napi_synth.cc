// N-API bindings for synthesis (wn_synth.h): the `Synth` class typed as NativeSynth in src/native.ts.
//   new Synth(config, params: Float32Array, batch, device: 'cpu' | 'cuda')
//   reset(); prime(classes, n): Promise<void>; generate(n, temperature, seeds, wantLogits?): Promise<...>
//   setCut(topP: Float32Array | null, topK: Int32Array | null): the per-stream cut (wn_synth_set_cut)
// prime/generate run in an AsyncWorker (off the JavaScript thread). The inputs' typed arrays and the
// outputs (allocated before the work starts) are held by references until the work is done; one
// call at a time per synth (a second call while one runs throws).
#include <memory>
#include <string>
#include <vector>
#include "napi_init.h"
#include "napi_util.h"
#include "wn_synth.h"

namespace wnjs {
namespace {

class SynthWrap;

// Runs one prime or generate call on a libuv thread and settles a promise.
class SynthWorker : public Napi::AsyncWorker {
 public:
  SynthWorker(Napi::Env env, SynthWrap *owner, Napi::Object self)
      : Napi::AsyncWorker(env, "wavenet.synth"), owner_(owner), deferred_(Napi::Promise::Deferred::New(env)) {
    self_ = Napi::Persistent(self);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  // inputs / outputs (pointers into the referenced typed arrays)
  bool is_prime = false;
  const uint8_t *classes = nullptr;
  int n = 0;
  const float *temperature = nullptr;
  const uint64_t *seeds = nullptr;
  uint8_t *out = nullptr;
  float *logits = nullptr;
  std::vector<Napi::ObjectReference> keep;  // inputs and outputs held during the work
  Napi::ObjectReference samples_ref, logits_ref;

  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error &e) override;

  wn_status status = WN_OK;

 private:
  SynthWrap *owner_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference self_;
};

class SynthWrap : public Napi::ObjectWrap<SynthWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Synth",
                       {
                           InstanceAccessor<&SynthWrap::Batch>("batch"),
                           InstanceMethod<&SynthWrap::Reset>("reset"),
                           InstanceMethod<&SynthWrap::Prime>("prime"),
                           InstanceMethod<&SynthWrap::Generate>("generate"),
                           InstanceMethod<&SynthWrap::SetCut>("setCut"),
                           InstanceMethod<&SynthWrap::Free>("free"),
                       });
  }

  SynthWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SynthWrap>(info) {
    Napi::Env env = info.Env();
    const char *usage =
        "new Synth(config, params: Float32Array, batch: number, device: 'cpu' | 'cuda', "
        "options?: {precision?: 'fp32' | 'bf16' | 'fp16', mode?: 'auto' | 'solo' | 'parallel'})";
    wn_config c = config_from_js(env, info[0]);
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      type_error(env, std::string(usage) + ": params must be a Float32Array");
    if (!info[2].IsNumber()) type_error(env, std::string(usage) + ": batch must be a number");
    std::string dev = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "cpu";
    if (dev != "cpu" && dev != "cuda") type_error(env, std::string(usage) + ": device must be 'cpu' or 'cuda'");
    auto p = info[1].As<Napi::Float32Array>();
    wn_layout lay;
    wn_layout_get(&c, &lay);
    if (p.ElementLength() != lay.total)
      type_error(env, "Synth: params has " + std::to_string(p.ElementLength()) + " floats, the config needs " +
                          std::to_string(lay.total));
    const double b = info[2].As<Napi::Number>().DoubleValue();
    if (!(b >= 1 && b <= 1048576) || b != (int)b)
      type_error(env, "Synth: batch must be a whole number from 1 to 1048576");
    batch_ = (int)b;
    Q_ = c.classes;
    wn_synth_options opt = synth_defaults();
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      if (!info[4].IsObject()) type_error(env, std::string(usage) + ": options must be an object");
      Napi::Object o = info[4].As<Napi::Object>();
      const Napi::Value pr = o.Get("precision"), mo = o.Get("mode");
      if (!pr.IsUndefined()) {
        const std::string v = pr.IsString() ? pr.As<Napi::String>().Utf8Value() : "";
        if (v != "fp32" && v != "bf16" && v != "fp16")
          type_error(env, std::string(usage) + ": precision must be 'fp32', 'bf16' or 'fp16'");
        opt.precision = v == "bf16" ? WN_SYNTH_BF16 : v == "fp16" ? WN_SYNTH_FP16 : WN_SYNTH_FP32;
      }
      if (!mo.IsUndefined()) {
        const std::string v = mo.IsString() ? mo.As<Napi::String>().Utf8Value() : "";
        if (v != "auto" && v != "solo" && v != "parallel")
          type_error(env, std::string(usage) + ": mode must be 'auto', 'solo' or 'parallel'");
        opt.mode = v == "solo" ? WN_SYNTH_MODE_SOLO : v == "parallel" ? WN_SYNTH_MODE_PARALLEL : WN_SYNTH_MODE_AUTO;
      }
    }
    WNJS_CHECK(env, wn_synth_create(&c, p.Data(), batch_, dev == "cuda" ? WN_DEVICE_CUDA : WN_DEVICE_CPU, &opt, &s_),
               "synth create");
  }

  ~SynthWrap() override {
    if (s_) wn_synth_free(s_);
  }

  wn_synth *handle(Napi::Env env) {
    if (!s_) throw Napi::Error::New(env, "Synth: used after free()");
    if (busy_) throw Napi::Error::New(env, "Synth: a prime/generate call is still running (await it first)");
    return s_;
  }
  void set_busy(bool b) { busy_ = b; }
  wn_synth *raw() { return s_; }
  int batch() const { return batch_; }
  int classes() const { return Q_; }

 private:
  Napi::Value Batch(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), batch_); }

  Napi::Value Reset(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    WNJS_CHECK(env, wn_synth_reset(handle(env)), "synth reset");
    return env.Undefined();
  }

  Napi::Value Prime(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    handle(env);
    const char *usage = "Synth.prime(classes: Uint8Array, n: number)";
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      type_error(env, std::string(usage) + ": classes must be a Uint8Array");
    if (!info[1].IsNumber()) type_error(env, std::string(usage) + ": n must be a number");
    auto cls = info[0].As<Napi::Uint8Array>();
    const double n = info[1].As<Napi::Number>().DoubleValue();
    if (!(n >= 1) || n != (double)(int)n) type_error(env, std::string(usage) + ": n must be a whole number >= 1");
    if ((double)cls.ElementLength() != n * batch_)
      type_error(env, std::string(usage) +
                          ": classes must hold batch x n = " + std::to_string((long long)(n * batch_)) +
                          " values (got " + std::to_string(cls.ElementLength()) + ")");
    auto *w = new SynthWorker(env, this, Value());
    w->is_prime = true;
    w->classes = cls.Data();
    w->n = (int)n;
    w->keep.push_back(Napi::Persistent(cls.As<Napi::Object>()));
    busy_ = true;
    Napi::Promise pr = w->Promise();
    w->Queue();
    return pr;
  }

  Napi::Value Generate(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    handle(env);
    const char *usage =
        "Synth.generate(n: number, temperature: Float32Array, seeds: BigUint64Array, wantLogits?: boolean)";
    if (!info[0].IsNumber()) type_error(env, std::string(usage) + ": n must be a number");
    const double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 0) || n != (double)(int)n) type_error(env, std::string(usage) + ": n must be a whole number >= 0");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        info[1].As<Napi::TypedArray>().ElementLength() != (size_t)batch_)
      type_error(env, std::string(usage) + ": temperature must be a Float32Array of batch values");
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
        info[2].As<Napi::TypedArray>().ElementLength() != (size_t)batch_)
      type_error(env, std::string(usage) + ": seeds must be a BigUint64Array of batch values");
    const bool want_logits = info.Length() > 3 && info[3].ToBoolean().Value();
    const size_t count = (size_t)batch_ * (size_t)n;
    if (want_logits && (double)count * Q_ > 268435456.0)
      type_error(env, std::string(usage) + ": too many logits requested at once (batch x n x classes > 2^28)");
    auto temp = info[1].As<Napi::Float32Array>();
    auto seeds = info[2].As<Napi::TypedArray>();
    auto samples = Napi::Uint8Array::New(env, count);
    auto *w = new SynthWorker(env, this, Value());
    w->is_prime = false;
    w->n = (int)n;
    w->temperature = temp.Data();
    w->seeds =
        reinterpret_cast<const uint64_t *>(static_cast<uint8_t *>(seeds.ArrayBuffer().Data()) + seeds.ByteOffset());
    w->out = samples.Data();
    w->keep.push_back(Napi::Persistent(temp.As<Napi::Object>()));
    w->keep.push_back(Napi::Persistent(seeds.As<Napi::Object>()));
    w->samples_ref = Napi::Persistent(samples.As<Napi::Object>());
    if (want_logits) {
      auto lg = Napi::Float32Array::New(env, count * Q_);
      w->logits = lg.Data();
      w->logits_ref = Napi::Persistent(lg.As<Napi::Object>());
    }
    busy_ = true;
    Napi::Promise pr = w->Promise();
    w->Queue();
    return pr;
  }

  Napi::Value SetCut(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    wn_synth *s = handle(env);
    const char *usage = "Synth.setCut(topP: Float32Array | null, topK: Int32Array | null)";
    const float *p = nullptr;
    const int *k = nullptr;
    if (!info[0].IsNull() && !info[0].IsUndefined()) {
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
          info[0].As<Napi::TypedArray>().ElementLength() != (size_t)batch_)
        type_error(env, std::string(usage) + ": topP must be a Float32Array of batch values or null");
      p = info[0].As<Napi::Float32Array>().Data();
    }
    if (!info[1].IsNull() && !info[1].IsUndefined()) {
      if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
          info[1].As<Napi::TypedArray>().ElementLength() != (size_t)batch_)
        type_error(env, std::string(usage) + ": topK must be an Int32Array of batch values or null");
      k = info[1].As<Napi::Int32Array>().Data();
    }
    WNJS_CHECK(env, wn_synth_set_cut(s, p, k), "synth setCut");
    return env.Undefined();
  }

  Napi::Value Free(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (busy_) throw Napi::Error::New(env, "Synth: free() while a prime/generate call is running (await it first)");
    if (s_) wn_synth_free(s_);
    s_ = nullptr;
    return env.Undefined();
  }

  wn_synth *s_ = nullptr;
  int batch_ = 1, Q_ = 256;
  bool busy_ = false;
};

void SynthWorker::Execute() {
  wn_synth *s = owner_->raw();
  status = is_prime ? wn_synth_prime(s, classes, n) : wn_synth_generate(s, n, temperature, seeds, out, logits);
  if (status != WN_OK) SetError(status_message(status, is_prime ? "synth prime" : "synth generate"));
}

void SynthWorker::OnOK() {
  Napi::Env env = Env();
  owner_->set_busy(false);
  if (is_prime) {
    deferred_.Resolve(env.Undefined());
    return;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("samples", samples_ref.Value());
  if (!logits_ref.IsEmpty()) r.Set("logits", logits_ref.Value());
  deferred_.Resolve(r);
}

void SynthWorker::OnError(const Napi::Error &e) {
  Napi::Env env = Env();
  owner_->set_busy(false);
  deferred_.Reject(status_error(env, status, e.Message()).Value());
}

}  // namespace

void InitSynth(Napi::Env env, Napi::Object exports) { exports.Set("Synth", SynthWrap::Define(env)); }

}  // namespace wnjs
