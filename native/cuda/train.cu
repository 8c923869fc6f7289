// The CUDA trainer: wn::TrainerImpl on one GPU (device 0), the same math and position ranges as the
// CPU trainer (native/cpu/model.h), kernels in native/cuda/layers.cuh and gemm.cuh.
//
// All parameters, gradients and Adam moments are single fp32 buffers in the wavenet.h layout (one copy
// per call to move them). Every call runs on the trainer's own stream and synchronises before it
// returns; every CUDA call and every launch is checked and comes back as a wn_status.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "core/backend.h"
#include "core/positions.h"
#include "core/runtime.h"
#include "cuda/common.cuh"
#include "cuda/gemm.cuh"
#include "cuda/layers.cuh"

namespace wn {
namespace cuda {

// Shapes, position ranges and buffer sizes; used both by the memory estimate and by the allocation,
// so the printed estimate is what the trainer asks for.
struct TrainPlan {
  int B, W, N, T, L, R, D, S, H, Q, rf;
  std::vector<int> dil, start;  // start: L + 1 entries (as the CPU's Shape::start)
  size_t P;
  std::vector<size_t> gate_w, gate_b, skip_w, skip_b, res_w, res_b;
  wn_layout lay;
  size_t max_out_rows;    // max over layers of T - start[l+1]
  size_t partial_floats;  // split-K partials
  int in_chunk_rows, in_chunks;
  size_t in_partial_floats;
  // buffer sizes (floats unless noted)
  size_t nX, nTS, nZ, nBW;
  size_t bytes;

  explicit TrainPlan(const wn_config &c, int batch, int window) {
    B = batch;
    W = window;
    L = c.n_layers;
    R = c.residual;
    D = c.dilation;
    S = c.skip;
    H = c.head;
    Q = c.classes;
    const CropPositions pos = crop_positions(c, W);
    rf = pos.rf;
    N = pos.N;
    T = pos.T;
    start = pos.start;
    dil.assign(c.dilations, c.dilations + L);
    wn_layout_get(&c, &lay);
    P = lay.total;
    for (int l = 0; l < L; ++l) {
      wn_layer_layout ll;
      wn_layer_layout_get(&c, l, &ll);
      gate_w.push_back(ll.gate_w);
      gate_b.push_back(ll.gate_b);
      skip_w.push_back(ll.skip_w);
      skip_b.push_back(ll.skip_b);
      res_w.push_back(ll.res_w);
      res_b.push_back(ll.res_b);
    }
    max_out_rows = 0;
    size_t part = 0;
    auto split = [&](size_t M, size_t Nn, size_t K) {
      const SplitK s = gemm_split((int)M, (int)Nn, (int)K);
      part = std::max(part, (size_t)s.splits * M * Nn);
    };
    const size_t BW = (size_t)B * W;
    for (int l = 0; l < L; ++l) {
      const size_t rows = (size_t)(T - start[l + 1]);
      max_out_rows = std::max(max_out_rows, rows);
      split(2 * D, 2 * R + 1, B * rows);
      if (l < L - 1) split(R, D + 1, B * rows);
    }
    split(Q, H + 1, BW);
    split(H, S + 1, BW);
    split(S, (size_t)L * D + 1, BW);
    partial_floats = part;
    const size_t in_rows = (size_t)B * (T - start[0]);
    in_chunk_rows = (int)std::max<size_t>(512, (in_rows + 65534) / 65535);  // grid.y <= 65535
    in_chunks = (int)((in_rows + in_chunk_rows - 1) / in_chunk_rows);
    if (in_chunks < 1) in_chunks = 1;
    in_partial_floats = (size_t)in_chunks * (Q + 1) * 2 * R;
    nX = (size_t)L * B * T * R;
    nTS = (size_t)L * B * T * 2 * D;
    nZ = (size_t)L * B * T * D;
    nBW = BW;
    const size_t floats = 4 * P                               // params, grads, m, v
                          + nX + nTS + nZ                     // activations
                          + BW * (2 * S + 2 * H + 2 * Q + 1)  // skip, dsk, h1, da1, logits, dlogits, row_loss
                          + BW * (size_t)L * D                // dzl
                          + (size_t)B * max_out_rows * 2 * D  // dfg
                          + 2 * (size_t)B * T * R             // dX, dXn
                          + partial_floats + in_partial_floats + S + 1;
    bytes = floats * sizeof(float) + (size_t)B * N + 2 * (size_t)L * sizeof(unsigned long long);
  }
};

class CudaTrainer final : public TrainerImpl {
 public:
  explicit CudaTrainer(const wn_config &c, int batch, int window) : p_(c, batch, window) {
    use_graphs_ = runtime().cuda_graphs != 0;  // 0: launch every kernel eagerly (debugging)
  }
  ~CudaTrainer() override {
    for (cudaGraphExec_t g : graphs_)
      if (g) cudaGraphExecDestroy(g);
    for (void *ptr : allocs_) cudaFree(ptr);
    if (stream_) cudaStreamDestroy(stream_);
  }

  wn_status init() {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    WN_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    wn_status s;
#define WN_ALLOC(ptr, count) \
  if ((s = alloc(&ptr, (count))) != WN_OK) return s;
    WN_ALLOC(params_, p_.P);
    WN_ALLOC(grads_, p_.P);
    WN_ALLOC(m_, p_.P);
    WN_ALLOC(v_, p_.P);
    WN_ALLOC(X_, p_.nX);
    WN_ALLOC(TS_, p_.nTS);
    WN_ALLOC(Z_, p_.nZ);
    const size_t BW = p_.nBW;
    WN_ALLOC(skip_, BW * p_.S);
    WN_ALLOC(dsk_, BW * p_.S);
    WN_ALLOC(h1_, BW * p_.H);
    WN_ALLOC(da1_, BW * p_.H);
    WN_ALLOC(logits_, BW * p_.Q);
    WN_ALLOC(dlogits_, BW * p_.Q);
    WN_ALLOC(row_loss_, BW);
    WN_ALLOC(dzl_, BW * p_.L * p_.D);
    WN_ALLOC(dfg_, (size_t)p_.B * p_.max_out_rows * 2 * p_.D);
    WN_ALLOC(dX_, (size_t)p_.B * p_.T * p_.R);
    WN_ALLOC(dXn_, (size_t)p_.B * p_.T * p_.R);
    WN_ALLOC(partial_, p_.partial_floats);
    WN_ALLOC(in_partial_, p_.in_partial_floats);
    WN_ALLOC(bsum_, p_.S);
    WN_ALLOC(loss_, 1);
#undef WN_ALLOC
    if ((s = alloc_bytes((void **)&crops_, (size_t)p_.B * p_.N)) != WN_OK) return s;
    if ((s = alloc_bytes((void **)&skip_w_, p_.L * sizeof(unsigned long long))) != WN_OK) return s;
    if ((s = alloc_bytes((void **)&skip_b_, p_.L * sizeof(unsigned long long))) != WN_OK) return s;
    // Positions a layer does not compute stay 0 (get_tensor's contract); parameters start at zero.
    for (size_t i = 0; i < allocs_.size(); ++i) WN_CUDA_TRY(cudaMemsetAsync(allocs_[i], 0, sizes_[i], stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    std::vector<unsigned long long> sw(p_.skip_w.begin(), p_.skip_w.end()), sb(p_.skip_b.begin(), p_.skip_b.end());
    // (copies on the trainer's non-blocking stream: a plain cudaMemcpy would not be ordered with it)
    WN_CUDA_TRY(cudaMemcpyAsync(skip_w_, sw.data(), sw.size() * sizeof(sw[0]), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaMemcpyAsync(skip_b_, sb.data(), sb.size() * sizeof(sb[0]), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    return WN_OK;
  }

  size_t param_count() const override { return p_.P; }

  wn_status set_params(const float *p) override { return upload(params_, p, p_.P); }
  wn_status get_params(float *out) const override { return download(out, params_, p_.P); }
  wn_status get_grads(float *out) const override { return download(out, grads_, p_.P); }
  wn_status get_adam(float *m, float *v, int64_t *step) const override {
    wn_status s = download(m, m_, p_.P);
    if (s == WN_OK) s = download(v, v_, p_.P);
    *step = step_;
    return s;
  }
  wn_status set_adam(const float *m, const float *v, int64_t step) override {
    wn_status s = upload(m_, m, p_.P);
    if (s == WN_OK) s = upload(v_, v, p_.P);
    if (s == WN_OK) step_ = step;
    return s;
  }

  wn_status forward(const uint8_t *crops, float *loss, float *logits) override {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    wn_status s = check_crops(crops);
    if (s != WN_OK) return s;
    WN_CUDA_TRY(cudaMemcpyAsync(crops_, crops, (size_t)p_.B * p_.N, cudaMemcpyHostToDevice, stream_));
    if ((s = run_step(false)) != WN_OK) return s;
    WN_CUDA_TRY(cudaMemcpyAsync(loss, loss_, sizeof(float), cudaMemcpyDeviceToHost, stream_));
    if (logits)
      WN_CUDA_TRY(cudaMemcpyAsync(logits, logits_, p_.nBW * p_.Q * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    return WN_OK;
  }

  wn_status forward_backward(const uint8_t *crops, float *loss) override {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    wn_status s = check_crops(crops);
    if (s != WN_OK) return s;
    WN_CUDA_TRY(cudaMemcpyAsync(crops_, crops, (size_t)p_.B * p_.N, cudaMemcpyHostToDevice, stream_));
    if ((s = run_step(true)) != WN_OK) return s;
    WN_CUDA_TRY(cudaMemcpyAsync(loss, loss_, sizeof(float), cudaMemcpyDeviceToHost, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    return WN_OK;
  }

  wn_status adam(const wn_adam_params &a) override {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    const int64_t t = step_ + 1;
    const float c1 = (float)(1.0 / (1.0 - std::pow((double)a.beta1, (double)t)));
    const float c2 = (float)(1.0 / (1.0 - std::pow((double)a.beta2, (double)t)));
    int blocks = (int)std::min<size_t>((p_.P + 255) / 256, 4096);
    WN_LAUNCH(adam_update_kernel, blocks, 256, 0, stream_)
    (params_, grads_, m_, v_, p_.P, a.lr, a.beta1, a.beta2, a.eps, c1, c2);
    WN_CUDA_TRY(cudaGetLastError());
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    step_ = t;
    return WN_OK;
  }

  wn_status get_tensor(const char *name, int layer, float *out, size_t n) const override {
    const std::string nm = name ? name : "";
    const float *src = nullptr;
    size_t count = 0;
    const size_t BT = (size_t)p_.B * p_.T, BW = p_.nBW;
    auto need_layer = [&]() -> wn_status {
      if (layer < 0 || layer >= p_.L)
        return fail(WN_ERR_INVALID,
                    "get_tensor: layer " + std::to_string(layer) + " is out of range 0.." + std::to_string(p_.L - 1));
      return WN_OK;
    };
    if (nm == "input") {
      src = X_;
      count = BT * p_.R;
    } else if (nm == "x") {
      if (need_layer() != WN_OK) return WN_ERR_INVALID;
      src = X_ + (size_t)layer * BT * p_.R;
      count = BT * p_.R;
    } else if (nm == "z") {
      if (need_layer() != WN_OK) return WN_ERR_INVALID;
      src = Z_ + (size_t)layer * BT * p_.D;
      count = BT * p_.D;
    } else if (nm == "skip") {
      src = skip_;
      count = BW * p_.S;
    } else if (nm == "logits") {
      src = logits_;
      count = BW * p_.Q;
    } else {
      return fail(WN_ERR_INVALID, "get_tensor: unknown tensor '" + nm + "' (input, x, z, skip, logits)");
    }
    if (n != count)
      return fail(WN_ERR_INVALID,
                  "get_tensor: '" + nm + "' has " + std::to_string(count) + " elements, not " + std::to_string(n));
    return download(out, src, count);
  }

 private:
  TrainPlan p_;
  int dev_ = 0;
  cudaStream_t stream_ = nullptr;
  std::vector<void *> allocs_;
  std::vector<size_t> sizes_;
  int64_t step_ = 0;
  float *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr;
  float *X_ = nullptr, *TS_ = nullptr, *Z_ = nullptr;
  float *skip_ = nullptr, *dsk_ = nullptr, *h1_ = nullptr, *da1_ = nullptr, *logits_ = nullptr, *dlogits_ = nullptr;
  float *row_loss_ = nullptr, *dzl_ = nullptr, *dfg_ = nullptr, *dX_ = nullptr, *dXn_ = nullptr;
  float *partial_ = nullptr, *in_partial_ = nullptr, *bsum_ = nullptr, *loss_ = nullptr;
  uint8_t *crops_ = nullptr;
  unsigned long long *skip_w_ = nullptr, *skip_b_ = nullptr;

  wn_status alloc_bytes(void **ptr, size_t bytes) {
    if (bytes == 0) bytes = 4;
    cudaError_t e = cudaMalloc(ptr, bytes);
    if (e != cudaSuccess) {
      *ptr = nullptr;
      cudaGetLastError();  // clear the (non-sticky) allocation error
      size_t freeb = 0, totalb = 0;
      cudaMemGetInfo(&freeb, &totalb);
      if (e == cudaErrorMemoryAllocation)
        return fail(WN_ERR_NOMEM, "out of GPU memory: the CUDA trainer needs about " + std::to_string(p_.bytes >> 20) +
                                      " MiB for batch " + std::to_string(p_.B) + ", window " + std::to_string(p_.W) +
                                      " (the GPU has " + std::to_string(freeb >> 20) + " MiB free of " +
                                      std::to_string(totalb >> 20) + " MiB); try a smaller --batch or --window");
      return cuda_fail(e, "cudaMalloc");
    }
    allocs_.push_back(*ptr);
    sizes_.push_back(bytes);
    return WN_OK;
  }
  wn_status alloc(float **ptr, size_t count) { return alloc_bytes((void **)ptr, count * sizeof(float)); }

  wn_status upload(float *dst, const float *src, size_t n) {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    WN_CUDA_TRY(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    return WN_OK;
  }
  wn_status download(float *dst, const float *src, size_t n) const {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    WN_CUDA_TRY(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    return WN_OK;
  }
  wn_status check_crops(const uint8_t *crops) const {
    const size_t n = (size_t)p_.B * p_.N;
    for (size_t i = 0; i < n; ++i)
      if (crops[i] >= p_.Q)
        return fail(WN_ERR_INVALID, "crops: class " + std::to_string(crops[i]) + " at index " + std::to_string(i) +
                                        " is out of range 0.." + std::to_string(p_.Q - 1));
    return WN_OK;
  }

  // The ~10 launches per layer of a step are captured once into a CUDA graph (all pointers and shapes
  // are fixed for the trainer's life) and replayed; if capture or instantiation fails the step runs
  // eagerly from then on. graphs_[0]: forward only, graphs_[1]: forward and backward.
  cudaGraphExec_t graphs_[2] = {nullptr, nullptr};
  bool use_graphs_ = true;

  wn_status run_eager(bool backward) {
    wn_status s = run_forward(backward);
    if (s == WN_OK && backward) s = run_backward();
    return s;
  }
  wn_status run_step(bool backward) {
    cudaGraphExec_t &g = graphs_[backward ? 1 : 0];
    if (!g && use_graphs_) {
      WN_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      const wn_status s = run_eager(backward);
      cudaGraph_t graph = nullptr;
      const cudaError_t e = cudaStreamEndCapture(stream_, &graph);
      if (s != WN_OK) {
        if (graph) cudaGraphDestroy(graph);
        return s;
      }
      if (e == cudaSuccess && graph && cudaGraphInstantiate(&g, graph, 0) == cudaSuccess) {
        cudaGraphDestroy(graph);
      } else {
        if (graph) cudaGraphDestroy(graph);
        g = nullptr;
        use_graphs_ = false;
        cudaGetLastError();  // clear the capture error; fall back to eager launches
      }
    }
    if (g) {
      WN_CUDA_TRY(cudaGraphLaunch(g, stream_));
      return WN_OK;
    }
    return run_eager(backward);
  }

  float *Xl(int l) const { return X_ + (size_t)l * p_.B * p_.T * p_.R; }
  float *TSl(int l) const { return TS_ + (size_t)l * p_.B * p_.T * 2 * p_.D; }
  float *Zl(int l) const { return Z_ + (size_t)l * p_.B * p_.T * p_.D; }

  // The forward and backward passes as sequences of stages named after the CPU trainer's functions
  // (native/cpu/model.h, native/cpu/layers.cc), so one search finds both implementations.
  wn_status run_forward(bool want_grad) {
    WN_TRY(input_forward());
    for (int l = 0; l < p_.L; ++l) WN_TRY(residual_forward(l));
    WN_TRY(skip_forward());
    WN_TRY(head_forward());
    return softmax_xent(want_grad);
  }

  wn_status run_backward() {
    WN_CUDA_TRY(cudaMemsetAsync(grads_, 0, p_.P * sizeof(float), stream_));
    WN_TRY(head_backward());
    WN_TRY(skip_backward());
    // residual_backward, last layer first. dXn: gradient of x_{l+1}; dX: of x_l.
    float *dX = dX_, *dXn = dXn_;
    for (int l = p_.L - 1; l >= 0; --l) {
      WN_TRY(residual_backward(l, dXn));
      WN_TRY(residual_backward_input(l, dXn, dX));
      std::swap(dX, dXn);
    }
    return input_backward(dXn);  // dx_0 is in dXn after the last swap
  }

  // x_0 at [start[0], T)
  wn_status input_forward() {
    const TrainPlan &P = p_;
    const size_t total = (size_t)P.B * (P.T - P.start[0]) * P.R;
    const int blocks = (int)std::min<size_t>((total + 255) / 256, 8192);
    WN_LAUNCH(input_forward_kernel, blocks, 256, 0, stream_)
    (crops_, params_ + P.lay.input_embed, params_ + P.lay.input_bias, Xl(0), P.B, P.N, P.T, P.start[0], P.R, P.Q);
    WN_CUDA_TRY(cudaGetLastError());
    return WN_OK;
  }

  // Layer l: gate (+ gating epilogue), then the residual projection. (Skip projections: skip_forward.)
  wn_status residual_forward(int l) {
    const TrainPlan &P = p_;
    const RowRange out{P.T, P.start[l + 1], P.T - P.start[l + 1]};
    const int M = P.B * out.len;
    const float *Wg = params_ + P.gate_w[l];
    WN_TRY(gemm(stream_, M, 2 * P.D, 2 * P.R, GateInputLoader{Xl(l), out, P.R, P.dil[l]},
                GateWeightLoader{Wg, P.D, P.R}, GateForwardEP{params_ + P.gate_b[l], TSl(l), Zl(l), out, P.D}));
    if (l == P.L - 1) return WN_OK;  // the last layer's residual output is never read
    return gemm(stream_, M, P.R, P.D, RangeRowLoader{Zl(l), out, P.D}, WeightT{params_ + P.res_w[l], P.D},
                ResidualForwardEP{Xl(l), params_ + P.res_b[l], Xl(l + 1), out, P.R});
  }

  // All layers' skip projections at the last W positions, as one product over the concatenated z.
  wn_status skip_forward() {
    const TrainPlan &P = p_;
    WN_LAUNCH(skip_bias_sum_kernel, (P.S + 255) / 256, 256, 0, stream_)(params_, skip_b_, P.L, P.S, bsum_);
    WN_CUDA_TRY(cudaGetLastError());
    return gemm(stream_, (int)P.nBW, P.S, P.L * P.D, SkipZLoader{Z_, P.B, P.T, P.W, P.D},
                SkipWeightLoader{params_, skip_w_, P.D}, SkipForwardEP{bsum_, skip_, P.S});
  }

  wn_status head_forward() {
    const TrainPlan &P = p_;
    const int BW = (int)P.nBW;
    WN_TRY(gemm(stream_, BW, P.H, P.S, ReluRowLoader{skip_, P.S}, WeightT{params_ + P.lay.head1_w, P.S},
                BiasEP{params_ + P.lay.head1_b, h1_, P.H, true}));
    return gemm(stream_, BW, P.Q, P.H, RowLoader{h1_, P.H}, WeightT{params_ + P.lay.head2_w, P.H},
                BiasEP{params_ + P.lay.head2_b, logits_, P.Q, false});
  }

  // Row losses (and dlogits when training), then their mean in a fixed order.
  wn_status softmax_xent(bool want_grad) {
    const TrainPlan &P = p_;
    const int BW = (int)P.nBW;
    WN_LAUNCH(softmax_xent_kernel, (BW + 7) / 8, 256, 0, stream_)
    (logits_, crops_, P.B, P.W, P.N, P.rf, P.Q, 1.f / (float)BW, row_loss_, want_grad ? dlogits_ : nullptr);
    WN_CUDA_TRY(cudaGetLastError());
    WN_LAUNCH(mean_kernel, 1, 256, 0, stream_)(row_loss_, BW, loss_);
    WN_CUDA_TRY(cudaGetLastError());
    return WN_OK;
  }

  wn_status head_backward() {
    const TrainPlan &P = p_;
    const int BW = (int)P.nBW;
    float *g = grads_;
    WN_TRY(gemm_splitk(stream_, P.Q, P.H + 1, BW, ColLoader{dlogits_, P.Q}, RowOnes<false>{h1_, P.H}, partial_,
                       WeightGradEP{g + P.lay.head2_w, g + P.lay.head2_b, P.H}));
    WN_TRY(gemm(stream_, BW, P.H, P.Q, RowLoader{dlogits_, P.Q}, WeightN{params_ + P.lay.head2_w, P.H},
                StoreEP{da1_, h1_, P.H}));
    WN_TRY(gemm_splitk(stream_, P.H, P.S + 1, BW, ColLoader{da1_, P.H}, RowOnes<true>{skip_, P.S}, partial_,
                       WeightGradEP{g + P.lay.head1_w, g + P.lay.head1_b, P.S}));
    return gemm(stream_, BW, P.S, P.H, RowLoader{da1_, P.H}, WeightN{params_ + P.lay.head1_w, P.S},
                StoreEP{dsk_, skip_, P.S});
  }

  // Weight gradients of every layer's skip projection, and dz from the skip path (dzl).
  wn_status skip_backward() {
    const TrainPlan &P = p_;
    const int BW = (int)P.nBW, LD = P.L * P.D;
    const SkipZLoader zl{Z_, P.B, P.T, P.W, P.D};
    WN_TRY(gemm_splitk(stream_, P.S, LD + 1, BW, ColLoader{dsk_, P.S}, SkipZOnes{zl, LD}, partial_,
                       SkipWeightGradEP{grads_, skip_w_, skip_b_, P.D, P.L}));
    return gemm(stream_, BW, LD, P.S, RowLoader{dsk_, P.S}, SkipWeightLoaderN{params_, skip_w_, P.D},
                StoreEP{dzl_, nullptr, LD});
  }

  // Layer l: dz (residual path + skip path) and the gate's backward -> dfg, then the gate and residual
  // weight gradients. dXn: gradient of x_{l+1} (unused for the last layer).
  wn_status residual_backward(int l, const float *dXn) {
    const TrainPlan &P = p_;
    const bool last = l == P.L - 1;
    const RowRange out{P.T, P.start[l + 1], P.T - P.start[l + 1]};
    const int M = P.B * out.len, LD = P.L * P.D;
    float *g = grads_;
    WN_TRY(gemm(stream_, M, P.D, last ? 0 : P.R, RangeRowLoader{dXn, out, P.R}, WeightN{params_ + P.res_w[l], P.D},
                GateBackwardEP{TSl(l), dzl_, dfg_, out, P.D, P.W, LD, l}));
    WN_TRY(gemm_splitk(stream_, 2 * P.D, 2 * P.R + 1, M, ColLoader{dfg_, 2 * P.D},
                       GateInputOnes{GateInputLoader{Xl(l), out, P.R, P.dil[l]}}, partial_,
                       WeightGradEP{g + P.gate_w[l], g + P.gate_b[l], 2 * P.R}));
    if (last) return WN_OK;  // the last layer's residual output is unused: its gradient is 0
    return gemm_splitk(stream_, P.R, P.D + 1, M, RangeColLoader{dXn, out, P.R}, RangeRowOnes{Zl(l), out, P.D}, partial_,
                       WeightGradEP{g + P.res_w[l], g + P.res_b[l], P.D});
  }

  // dx_l at positions [start[l], T) from dfg and (skip connection) dx_{l+1}.
  wn_status residual_backward_input(int l, const float *dXn, float *dX) {
    const TrainPlan &P = p_;
    const bool last = l == P.L - 1;
    const RowRange out{P.T, P.start[l + 1], P.T - P.start[l + 1]};
    const RowRange in{P.T, P.start[l], P.T - P.start[l]};
    return gemm(stream_, P.B * in.len, P.R, 4 * P.D, GateGradLoader{dfg_, in, out.s, P.D, P.dil[l]},
                GateGradWeights{params_ + P.gate_w[l], P.D, P.R},
                InputGradEP{last ? nullptr : dXn, dX, in, out.s, P.R});
  }

  // Embedding and input-bias gradients from dx_0, chunk partials reduced in a fixed order.
  wn_status input_backward(const float *dX0) {
    const TrainPlan &P = p_;
    const int threads = std::min(256, (P.R + 31) / 32 * 32);
    dim3 grid(P.Q + 1, P.in_chunks);
    WN_LAUNCH(input_backward_kernel, grid, threads, 0, stream_)
    (crops_, dX0, in_partial_, P.B, P.N, P.T, P.start[0], P.R, P.Q, P.in_chunk_rows);
    WN_CUDA_TRY(cudaGetLastError());
    const int per = (P.Q + 1) * 2 * P.R;
    WN_LAUNCH(input_backward_reduce_kernel, (per + 255) / 256, 256, 0, stream_)
    (in_partial_, P.in_chunks, P.R, P.Q, grads_ + P.lay.input_embed, grads_ + P.lay.input_bias);
    WN_CUDA_TRY(cudaGetLastError());
    return WN_OK;
  }
};

}  // namespace cuda

size_t cuda_trainer_memory_bytes(const wn_config &c, int batch, int window) {
  return cuda::TrainPlan(c, batch, window).bytes;
}

wn_status cuda_trainer_create(const wn_config &c, int batch, int window, std::unique_ptr<TrainerImpl> *out) {
  int rt = 0, drv = 0, count = 0;
  wn_status s = wn_cuda_query(&rt, &drv, &count);
  if (s != WN_OK) return s;
  std::unique_ptr<cuda::CudaTrainer> t(new cuda::CudaTrainer(c, batch, window));
  s = t->init();
  if (s != WN_OK) return s;  // the destructor frees what was allocated
  *out = std::move(t);
  return WN_OK;
}

}  // namespace wn
