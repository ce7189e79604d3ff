#pragma once
/// The periphery's arithmetic of a two-layer classifier (in double precision): activations,
/// softmax cross-entropy and backpropagation. Where the weights live (arrays of ECRAM cells or
/// plain matrices) is the caller's business; these functions take the pre-activations the
/// forward pass produced and return gradients.
///
/// Convention: a layer with n inputs and m outputs has an (n + 1) x m weight matrix whose last
/// row is the bias (the bias input is the constant 1, on an array a row driven at the read
/// voltage). Batches hold one sample per matrix row.

#include <Eigen/Core>
#include <span>
#include <string>

namespace ecramsim::train {

/// Hidden-layer nonlinearity.
enum class Activation { Tanh, Relu };

/// "tanh" or "relu"; InputError otherwise.
[[nodiscard]] Activation parseActivation(const std::string& name);
[[nodiscard]] std::string activationName(Activation a);

/// Elementwise activation and its derivative with respect to the pre-activation z.
[[nodiscard]] Eigen::MatrixXd activate(const Eigen::MatrixXd& z, Activation a);
[[nodiscard]] Eigen::MatrixXd activationSlope(const Eigen::MatrixXd& z, Activation a);

/// Appends a column of ones (the bias input): B x n -> B x (n + 1).
[[nodiscard]] Eigen::MatrixXd withBias(const Eigen::MatrixXd& a);

/// Row-wise softmax of logits (B x m), shifted by the row maximum for stability.
[[nodiscard]] Eigen::MatrixXd softmax(const Eigen::MatrixXd& logits);

/// Mean cross-entropy of softmax(logits) against class indices (one per row).
[[nodiscard]] double crossEntropy(const Eigen::MatrixXd& logits, std::span<const int> labels);

/// Number of rows whose largest logit is at the label's index.
[[nodiscard]] long long correctCount(const Eigen::MatrixXd& logits, std::span<const int> labels);

/// Gradients of the mean cross-entropy with respect to both weight matrices.
struct Gradients {
  Eigen::MatrixXd w1;  ///< (n_in + 1) x H
  Eigen::MatrixXd w2;  ///< (H + 1) x n_out
};

/// Backpropagation for a batch: inputs x (B x n_in, no bias column), hidden pre-activations z1
/// (B x H) as the forward pass produced them, output logits (B x n_out), labels, and the
/// output layer's weights w2 ((H + 1) x n_out) used to carry the error back to the hidden layer.
[[nodiscard]] Gradients backprop(const Eigen::MatrixXd& x, const Eigen::MatrixXd& z1,
                                 const Eigen::MatrixXd& logits, std::span<const int> labels,
                                 const Eigen::MatrixXd& w2, Activation act);

/// The same network entirely in software: forward pass with plain matrices.
struct SoftwareForward {
  Eigen::MatrixXd z1;      ///< B x H
  Eigen::MatrixXd logits;  ///< B x n_out
};
[[nodiscard]] SoftwareForward forwardSoftware(const Eigen::MatrixXd& x, const Eigen::MatrixXd& w1,
                                              const Eigen::MatrixXd& w2, Activation act);

}  // namespace ecramsim::train
