// Layer-wise reconstruction of pruned layers from calibration activations (pure math; nothing here runs a model).
// For one Conv (2-D, any group), ConvTranspose (2-D, group 1, kernel == strides, no padding), Gemm (transA 0) or
// MatMul (2-D constant weight) it streams the Gram statistics of
// the layer's input in the dense model (x) and in the pruned model (x~), per sample (memory independent of the
// sample count): H = Σ x~x~ᵀ, C = Σ x x~ᵀ, G = Σ x xᵀ over im2col patches (per group), with a constant-1 column
// for the bias. It then solves min ||W'x~ - (W x + b)||² + λ||W' - W_prior||² (λ = damp · mean diag H, as in
// SparseGPT/OBC) with Cholesky (LAPACK), and for unstructured / N:M chooses the mask with SparseGPT's sequential
// prune + OBS update (blocks of columns, the upper Cholesky factor of H⁻¹), so the zero count (unstructured) or the
// N:M pattern is exact afterwards. Deterministic: fixed summation order.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::prune {

enum class FitMode { Dense, Unstructured, NM };

struct FitOptions {
    FitMode mode = FitMode::Dense;
    int64_t zeros = 0;  // Unstructured: weights (not bias) to zero in the whole layer
    int64_t n = 2, m = 4;  // NM: at most n nonzeros in every m consecutive inputs along the input-channel axis
    double damp = 0.01;    // λ = damp · mean of diag(H)
    int64_t block = 128;   // SparseGPT column block (rounded up to a multiple of m)
};

// One layer as the solver sees it: weight as an [outputs × (group's inputs · kernel)] matrix (per group), its
// effective bias (Conv: input 2; Gemm: beta·C; MatMul: none), in double.
struct LayerMatrix {
    int64_t outputs = 0, groups = 1;
    int64_t cin_g = 0;   // input channels per group (Gemm/MatMul: input features)
    int64_t kernel = 1;  // kernel positions (kh·kw; 1 for Gemm/MatMul)
    int64_t kh = 1, kw = 1;
    // ConvTranspose (kernel == strides, no padding: every output pixel reads one input pixel): one row per output
    // channel and kernel phase, row o·row_block + k; its bias is per channel (the rows' mean is written).
    int64_t row_block = 1;
    // Row o, column k·cin_g + c (kernel-position major: N:M groups along c are contiguous).
    std::vector<double> w;  // outputs × cin_g·kernel
    std::vector<double> b;  // outputs (zeros when the layer has none)
    int64_t cols() const { return cin_g * kernel; }
};

// Why a layer cannot be reconstructed ("" when it can): op, weight rank, transA, ConvTranspose, ...
std::string reconstruct_blocker(const graph::Model& m, const graph::Node& n);

// The layer's weight (and bias) as a matrix; needs reconstruct_blocker() == "".
LayerMatrix layer_matrix(const graph::Model& m, const graph::Node& n);

// Writes `lm` back into the layer's weight initializer (layout and Gemm alpha/transB undone). Does not touch the bias.
void write_weight(graph::Model& m, const graph::Node& n, const LayerMatrix& lm);

struct FitResult {
    LayerMatrix fitted;
    double rel_error_before = 0;  // ||W_cur x~ + b_cur - (W x + b)||² / ||W x + b||² (weights as they were)
    double rel_error_after = 0;   // the same for the fitted weights
    double positions = 0;         // rows (patches) the statistics saw
};

// Streams the statistics of one layer and solves it.
class LayerFit {
public:
    // `dense`: the layer in the dense model (target); `now`: the layer as it is in the pruned model (its current
    // weights are the "before" of the error); `prior`: weights the ridge pulls towards (same shape as `now`).
    // `kept_out[o]`: the dense output of output o of `now`. Conv geometry (kernel, strides, pads, dilations) is
    // taken from `node`; `dense_group[j]`: the dense group of group j of `now`. Throws hq::Error on inconsistency.
    LayerFit(const graph::Node& node, LayerMatrix dense, LayerMatrix now, LayerMatrix prior,
             std::vector<int64_t> kept_out, std::vector<int64_t> dense_group);

    // One sample: the layer's input in the dense model and in the pruned model (Conv: [N,C,H,W]; Gemm: [N,K];
    // MatMul: [..., K]). Throws hq::Error (naming the node) on shapes that do not fit the weights.
    void add(const Tensor& x_dense, const Tensor& x_pruned);

    FitResult solve(const FitOptions& o) const;
    double positions() const { return count_; }

private:
    struct Geo {
        int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph0 = 0, pw0 = 0, ph1 = 0, pw1 = 0;
        std::string auto_pad;
    };
    static void patches(const Geo& g, const Tensor& x, int64_t c0, int64_t cin_g, int64_t n_img, int64_t p0,
                        int64_t rows, std::vector<float>& out, int64_t ld);
    std::string label_, op_;
    Geo geo_;
    LayerMatrix dense_, now_, prior_;
    std::vector<int64_t> kept_out_, dense_group_;
    int64_t kp_ = 0, kd_ = 0;  // columns per group incl. the bias column
    std::vector<std::vector<double>> h_, c_, g_;  // per group (now's groups): kp×kp, kd×kp, kd×kd
    double count_ = 0;
};

// SparseGPT on one matrix: w [rows × k] (row-major), hd [k × k] damped Gram (positive definite); the first
// `prunable` columns may be pruned (a bias column after them is only updated). Unstructured: exactly `zeros`
// weights zeroed (spread over the blocks in proportion to their columns); NM: m-n zeros in every m consecutive
// prunable columns of every row. Returns false when hd is not positive definite.
bool sparsegpt(std::vector<double>& w, int64_t rows, int64_t k, int64_t prunable, const std::vector<double>& hd,
               const FitOptions& o);

// Solves hd · X = rhs for X (hd k×k symmetric positive definite, rhs k×nrhs column-major as rows of length k).
// Returns false when hd is not positive definite.
bool cholesky_solve(std::vector<double> hd, int64_t k, std::vector<double>& rhs, int64_t nrhs);

}  // namespace hq::prune
