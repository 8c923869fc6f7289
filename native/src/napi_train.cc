// N-API bindings for training (wn_train.h): the Trainer class and trainerMemoryBytes, typed in
// src/native.ts (NativeTrainer). step() and evaluate() run in an AsyncWorker off the JavaScript
// thread; the crops are copied for the work and the Trainer object is referenced until it resolves.
// While one is in flight every other method throws (one trainer, one call at a time).
#include <cstring>
#include <string>
#include <vector>
#include "napi_init.h"
#include "napi_util.h"
#include "wn_train.h"

namespace wnjs {
namespace {

class Trainer : public Napi::ObjectWrap<Trainer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Trainer",
        {InstanceAccessor<&Trainer::ParamCount>("paramCount"), InstanceMethod<&Trainer::SetParams>("setParams"),
         InstanceMethod<&Trainer::GetParams>("getParams"), InstanceMethod<&Trainer::GetGrads>("getGrads"),
         InstanceMethod<&Trainer::GetAdam>("getAdam"), InstanceMethod<&Trainer::SetAdam>("setAdam"),
         InstanceMethod<&Trainer::Forward>("forward"), InstanceMethod<&Trainer::ForwardBackward>("forwardBackward"),
         InstanceMethod<&Trainer::Adam>("adam"), InstanceMethod<&Trainer::Step>("step"),
         InstanceMethod<&Trainer::Evaluate>("evaluate"), InstanceMethod<&Trainer::GetTensor>("getTensor"),
         InstanceMethod<&Trainer::Free>("free")});
  }

  Trainer(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Trainer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsString())
      type_error(env, "new Trainer(config, batch: number, window: number, device: 'cpu' | 'cuda')");
    wn_config c = config_from_js(env, info[0]);
    const double batch = info[1].As<Napi::Number>().DoubleValue(), window = info[2].As<Napi::Number>().DoubleValue();
    if (!(batch >= 1 && batch <= 65536 && batch == (int)batch))
      type_error(env, "Trainer: batch must be a whole number 1..65536");
    if (!(window >= 1 && window <= (1 << 24) && window == (int)window))
      type_error(env, "Trainer: window must be a whole number 1..16777216");
    const std::string dev = info[3].As<Napi::String>().Utf8Value();
    if (dev != "cpu" && dev != "cuda") type_error(env, "Trainer: device must be 'cpu' or 'cuda'");
    batch_ = (int)batch;
    window_ = (int)window;
    crop_len_ = (size_t)wn_receptive_field(&c) + (size_t)window_;
    WNJS_CHECK(env, wn_trainer_create(&c, batch_, window_, dev == "cuda" ? WN_DEVICE_CUDA : WN_DEVICE_CPU, &t_),
               "Trainer");
    n_ = wn_trainer_param_count(t_);
    q_ = c.classes;
    R_ = c.residual;
    D_ = c.dilation;
    S_ = c.skip;
  }
  ~Trainer() override {
    if (t_) wn_trainer_free(t_);
  }

  wn_trainer *handle() { return t_; }
  void set_busy(bool b) { busy_ = b; }

 private:
  friend class TrainWork;

  void ready(Napi::Env env) {
    if (!t_) throw Napi::Error::New(env, "Trainer: already freed");
    if (busy_) throw Napi::Error::New(env, "Trainer: a step or evaluate is still running (await it first)");
  }
  Napi::Float32Array floats_arg(const Napi::CallbackInfo &info, size_t i, size_t n, const char *what) {
    Napi::Env env = info.Env();
    if (info.Length() <= i || !info[i].IsTypedArray() ||
        info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      type_error(env, std::string(what) + ": expected a Float32Array");
    auto a = info[i].As<Napi::Float32Array>();
    if (a.ElementLength() != n)
      type_error(env, std::string(what) + ": expected " + std::to_string(n) + " floats, got " +
                          std::to_string(a.ElementLength()));
    return a;
  }
  Napi::Uint8Array crops_arg(const Napi::CallbackInfo &info, const char *what) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      type_error(env, std::string(what) + ": crops must be a Uint8Array");
    auto a = info[0].As<Napi::Uint8Array>();
    const size_t want = (size_t)batch_ * crop_len_;
    if (a.ElementLength() != want)
      type_error(env, std::string(what) + ": crops must hold batch x (receptive field + window) = " +
                          std::to_string(want) + " classes, got " + std::to_string(a.ElementLength()));
    return a;
  }
  static wn_adam_params adam_arg(const Napi::CallbackInfo &info, size_t i, const char *what) {
    Napi::Env env = info.Env();
    if (info.Length() <= i || !info[i].IsObject())
      type_error(env, std::string(what) + ": expected {lr, beta1?, beta2?, eps?}");
    Napi::Object o = info[i].As<Napi::Object>();
    wn_adam_params p = wn_adam_default_params();
    auto num = [&](const char *k, float *dst, bool required) {
      Napi::Value v = o.Get(k);
      if (v.IsUndefined()) {
        if (required) type_error(env, std::string(what) + ": " + k + " is required");
        return;
      }
      if (!v.IsNumber()) type_error(env, std::string(what) + ": " + k + " must be a number");
      *dst = (float)v.As<Napi::Number>().DoubleValue();
    };
    num("lr", &p.lr, true);
    num("beta1", &p.beta1, false);
    num("beta2", &p.beta2, false);
    num("eps", &p.eps, false);
    return p;
  }

  Napi::Value ParamCount(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), (double)n_); }
  Napi::Value SetParams(const Napi::CallbackInfo &info) {
    ready(info.Env());
    auto p = floats_arg(info, 0, n_, "setParams");
    WNJS_CHECK(info.Env(), wn_trainer_set_params(t_, p.Data()), "setParams");
    return info.Env().Undefined();
  }
  Napi::Value GetParams(const Napi::CallbackInfo &info) {
    ready(info.Env());
    auto out = Napi::Float32Array::New(info.Env(), n_);
    WNJS_CHECK(info.Env(), wn_trainer_get_params(t_, out.Data()), "getParams");
    return out;
  }
  Napi::Value GetGrads(const Napi::CallbackInfo &info) {
    ready(info.Env());
    auto out = Napi::Float32Array::New(info.Env(), n_);
    WNJS_CHECK(info.Env(), wn_trainer_get_grads(t_, out.Data()), "getGrads");
    return out;
  }
  Napi::Value GetAdam(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ready(env);
    auto m = Napi::Float32Array::New(env, n_), v = Napi::Float32Array::New(env, n_);
    int64_t step = 0;
    WNJS_CHECK(env, wn_trainer_get_adam(t_, m.Data(), v.Data(), &step), "getAdam");
    Napi::Object o = Napi::Object::New(env);
    o.Set("m", m);
    o.Set("v", v);
    o.Set("step", Napi::Number::New(env, (double)step));
    return o;
  }
  Napi::Value SetAdam(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ready(env);
    auto m = floats_arg(info, 0, n_, "setAdam m");
    auto v = floats_arg(info, 1, n_, "setAdam v");
    if (info.Length() < 3 || !info[2].IsNumber()) type_error(env, "setAdam: step must be a number");
    const double step = info[2].As<Napi::Number>().DoubleValue();
    if (!(step >= 0 && step == (double)(int64_t)step)) type_error(env, "setAdam: step must be a whole number >= 0");
    WNJS_CHECK(env, wn_trainer_set_adam(t_, m.Data(), v.Data(), (int64_t)step), "setAdam");
    return env.Undefined();
  }
  Napi::Value Forward(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ready(env);
    auto crops = crops_arg(info, "forward");
    const bool want = info.Length() > 1 && info[1].ToBoolean().Value();
    float loss = 0.0f;
    Napi::Object o = Napi::Object::New(env);
    if (want) {
      auto lg = Napi::Float32Array::New(env, (size_t)batch_ * window_ * q_);
      WNJS_CHECK(env, wn_trainer_forward(t_, crops.Data(), &loss, lg.Data()), "forward");
      o.Set("logits", lg);
    } else {
      WNJS_CHECK(env, wn_trainer_forward(t_, crops.Data(), &loss, nullptr), "forward");
    }
    o.Set("loss", Napi::Number::New(env, loss));
    return o;
  }
  Napi::Value ForwardBackward(const Napi::CallbackInfo &info) {
    ready(info.Env());
    auto crops = crops_arg(info, "forwardBackward");
    float loss = 0.0f;
    WNJS_CHECK(info.Env(), wn_trainer_forward_backward(t_, crops.Data(), &loss), "forwardBackward");
    return Napi::Number::New(info.Env(), loss);
  }
  Napi::Value Adam(const Napi::CallbackInfo &info) {
    ready(info.Env());
    wn_adam_params p = adam_arg(info, 0, "adam");
    WNJS_CHECK(info.Env(), wn_trainer_adam(t_, &p), "adam");
    return info.Env().Undefined();
  }
  Napi::Value Step(const Napi::CallbackInfo &info);
  Napi::Value Evaluate(const Napi::CallbackInfo &info);
  Napi::Value GetTensor(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    ready(env);
    if (info.Length() < 1 || !info[0].IsString()) type_error(env, "getTensor(name: string, layer?: number)");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const int layer = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    size_t n = 0;
    const size_t B = batch_, T = crop_len_ - 1, W = window_;
    if (name == "input" || name == "x")
      n = B * T * R_;
    else if (name == "z")
      n = B * T * D_;
    else if (name == "skip")
      n = B * W * S_;
    else if (name == "logits")
      n = B * W * q_;
    else
      type_error(env, "getTensor: unknown tensor '" + name + "' (input, x, z, skip, logits)");
    auto out = Napi::Float32Array::New(env, n);
    WNJS_CHECK(env, wn_trainer_get_tensor(t_, name.c_str(), layer, out.Data(), n), "getTensor");
    return out;
  }
  Napi::Value Free(const Napi::CallbackInfo &info) {
    if (busy_) throw Napi::Error::New(info.Env(), "Trainer.free: a step or evaluate is still running (await it first)");
    if (t_) wn_trainer_free(t_);
    t_ = nullptr;
    return info.Env().Undefined();
  }

  wn_trainer *t_ = nullptr;
  size_t n_ = 0, crop_len_ = 0;
  int batch_ = 0, window_ = 0, q_ = 256, R_ = 0, D_ = 0, S_ = 0;
  bool busy_ = false;
};

// step / evaluate off the JS thread. Holds a copy of the crops and a reference to the Trainer object.
class TrainWork : public Napi::AsyncWorker {
 public:
  TrainWork(Napi::Env env, Trainer *tr, Napi::Object self, const uint8_t *crops, size_t n, bool step, wn_adam_params p)
      : Napi::AsyncWorker(env, "wavenet.train"),
        deferred_(Napi::Promise::Deferred::New(env)),
        tr_(tr),
        crops_(crops, crops + n),
        step_(step),
        p_(p) {
    self_ = Napi::Persistent(self);
    tr_->set_busy(true);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    status_ = step_ ? wn_trainer_step(tr_->handle(), crops_.data(), &p_, &loss_)
                    : wn_trainer_forward(tr_->handle(), crops_.data(), &loss_, nullptr);
    if (status_ != WN_OK) SetError(status_message(status_, step_ ? "step" : "evaluate"));
  }
  void OnOK() override {
    tr_->set_busy(false);
    deferred_.Resolve(Napi::Number::New(Env(), loss_));
    self_.Reset();
  }
  void OnError(const Napi::Error &e) override {
    tr_->set_busy(false);
    deferred_.Reject(status_error(Env(), status_, e.Message()).Value());
    self_.Reset();
  }

 private:
  Napi::Promise::Deferred deferred_;
  Trainer *tr_;
  Napi::ObjectReference self_;
  std::vector<uint8_t> crops_;
  bool step_;
  wn_adam_params p_;
  wn_status status_ = WN_OK;
  float loss_ = 0.0f;
};

Napi::Value Trainer::Step(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ready(env);
  auto crops = crops_arg(info, "step");
  wn_adam_params p = adam_arg(info, 1, "step");
  auto *w = new TrainWork(env, this, info.This().As<Napi::Object>(), crops.Data(), crops.ElementLength(), true, p);
  Napi::Promise pr = w->promise();
  w->Queue();
  return pr;
}

Napi::Value Trainer::Evaluate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ready(env);
  auto crops = crops_arg(info, "evaluate");
  auto *w = new TrainWork(env, this, info.This().As<Napi::Object>(), crops.Data(), crops.ElementLength(), false,
                          wn_adam_default_params());
  Napi::Promise pr = w->promise();
  w->Queue();
  return pr;
}

Napi::Value TrainerMemoryBytes(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  wn_config c = config_from_js(env, info[0]);
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber())
    type_error(env, "trainerMemoryBytes(config, batch: number, window: number, device?: 'cpu' | 'cuda')");
  const int batch = info[1].As<Napi::Number>().Int32Value(), window = info[2].As<Napi::Number>().Int32Value();
  if (batch < 1 || window < 1) type_error(env, "trainerMemoryBytes: batch and window must be >= 1");
  wn_device device = WN_DEVICE_CPU;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    const std::string d = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
    if (d == "cuda")
      device = WN_DEVICE_CUDA;
    else if (d != "cpu")
      type_error(env, "trainerMemoryBytes: device must be 'cpu' or 'cuda'");
  }
  return Napi::Number::New(env, (double)wn_trainer_memory_bytes(&c, batch, window, device));
}

}  // namespace

void InitTrain(Napi::Env env, Napi::Object exports) {
  exports.Set("Trainer", Trainer::Define(env));
  exports.Set("trainerMemoryBytes", Napi::Function::New(env, TrainerMemoryBytes));
}
}  // namespace wnjs
