// The network engine (nn/nn_job.hpp, libtorch): networks of the documented layer plans, plain SGD
// that learns a separable fixture, reproducible runs, interruption after a whole epoch, and the
// errors a user gets for jobs the engine cannot run.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "../support/cli.hpp"
#include "../support/geometry.hpp"
#include "app/cards.hpp"
#include "../support/image_fixtures.hpp"
#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "nn/nn_job.hpp"

using namespace ecramsim;
namespace fs = std::filesystem;

namespace {

/// An IDX data set in `dir` under the published names: 8 x 8 images whose class c (0..3) is
/// the bright quadrant, with a deterministic texture; `train` and `test` images.
fs::path quadrants(std::uint32_t train, std::uint32_t test) {
  const auto dir = test::imageScratch("nn_quadrants");
  auto pixel = [](std::uint32_t offset) {
    return [offset](std::uint32_t i, std::uint32_t k) {
      const std::uint32_t c = (i + offset) % 4;
      const std::uint32_t row = k / 8, col = k % 8;
      const bool bright = (row / 4) == c / 2 && (col / 4) == c % 2;
      return static_cast<std::uint8_t>((bright ? 170 : 20) + ((i + offset) * 37 + k * 11) % 60);
    };
  };
  auto label = [](std::uint32_t offset) {
    return [offset](std::uint32_t i) { return static_cast<std::uint8_t>((i + offset) % 4); };
  };
  test::writeBytes(dir / "train-images-idx3-ubyte", test::idxImages(train, 8, 8, pixel(0)));
  test::writeBytes(dir / "train-labels-idx1-ubyte", test::idxLabels(train, label(0)));
  test::writeBytes(dir / "t10k-images-idx3-ubyte", test::idxImages(test, 8, 8, pixel(1)));
  test::writeBytes(dir / "t10k-labels-idx1-ubyte", test::idxLabels(test, label(1)));
  return dir;
}

nn::NnJob quadrantJob(const std::string& network) {
  nn::NnJob j;
  j.network = network;
  j.data = quadrants(160, 80);
  j.layers = {64, 16, 10};
  j.epochs = 3;
  j.batch = 16;
  j.learning_rate = 0.1;
  j.threads = 1;
  j.ideal = true;
  return j;
}

/// Cancels the token when the named stage first reports.
class CancelAt final : public Progress {
 public:
  CancelAt(std::string stage, CancelToken& token) : stage_(std::move(stage)), token_(token) {}
  void update(std::string_view stage, std::size_t, std::size_t) override {
    if (stage == stage_) token_.cancel();
  }
  void note(std::string_view) override {}

 private:
  std::string stage_;
  CancelToken& token_;
};

/// Trainable parameters of VGG-8 at --width 0.125 with batch norm and 10 classes: convolutions
/// of channels 16-16-32-32-64-64 (3 x 3, no bias under batch norm, 2 batch-norm parameters a
/// channel), then FC 64 x `pooledPixels` -> 128 -> 10 with biases.
double vgg8Width8Parameters(int inChannels, int pooledPixels) {
  const int c[] = {inChannels, 16, 16, 32, 32, 64, 64};
  double n = 0;
  for (int i = 0; i < 6; ++i) n += 9.0 * c[i] * c[i + 1] + 2.0 * c[i + 1];
  return n + 64.0 * pooledPixels * 128 + 128 + 128.0 * 10 + 10;
}

/// The job run whole, and run again interrupted during epoch 2 (its first batch), written to
/// `scratch`/cut.h5 and continued with --resume from that file.
struct ResumeRuns {
  nn::NnRun whole, cut, resumed;
  nn::NnJob again;  ///< the resuming job
};
ResumeRuns interruptAndResume(const nn::NnJob& job, const std::string& scratch) {
  NullProgress quiet;
  CancelToken never;
  ResumeRuns r;
  r.whole = nn::runNnJob(job, quiet, never);
  CancelToken token;
  CancelAt progress("epoch 2/" + std::to_string(job.epochs), token);
  r.cut = nn::runNnJob(job, progress, token);
  REQUIRE(r.cut.interrupted);
  const auto file = test::imageScratch(scratch) / "cut.h5";
  io::writeResultFile(r.cut.tree, file, {"test", job.seed, io::isoTimeNow(), "interrupted"});
  r.again = job;
  r.again.resume = file;
  r.resumed = nn::runNnJob(r.again, quiet, never);
  CHECK_FALSE(r.resumed.interrupted);
  CHECK(r.resumed.tree.values("/training/test_loss") == r.whole.tree.values("/training/test_loss"));
  return r;
}

std::string errorOf(const nn::NnJob& job) {
  NullProgress quiet;
  CancelToken never;
  try {
    (void)nn::runNnJob(job, quiet, never);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("mlp: plain SGD learns the quadrant fixture, and one seed gives one curve") {
  NullProgress quiet;
  CancelToken never;
  const auto job = quadrantJob("mlp");
  const auto a = nn::runNnJob(job, quiet, never);
  const auto b = nn::runNnJob(job, quiet, never);
  CHECK_FALSE(a.interrupted);
  CHECK(a.tree.metricValue("parameters") == 64 * 16 + 16 + 16 * 10 + 10);
  const auto& acc = a.tree.values("/training/test_accuracy");
  REQUIRE(acc.size() == 3);
  CHECK(acc.back() >= 0.95);
  const auto& loss = a.tree.values("/training/train_loss");
  CHECK(loss.back() < 0.5 * loss.front());
  CHECK(a.tree.values("/training/test_loss") == b.tree.values("/training/test_loss"));
  auto other = job;
  other.seed = 2;
  CHECK(nn::runNnJob(other, quiet, never).tree.values("/training/test_loss") !=
        a.tree.values("/training/test_loss"));
}

TEST_CASE("vgg8: NeuroSim's layer plan scaled by --width, batch norm after each convolution") {
  NullProgress quiet;
  CancelToken never;
  auto job = quadrantJob("vgg8");
  job.width = 0.125;
  job.epochs = 1;
  job.subset = 32;
  const auto r = nn::runNnJob(job, quiet, never);
  // 8 x 8 pooled three times to 1 x 1.
  double expected = vgg8Width8Parameters(1, 1);
  CHECK(r.tree.metricValue("parameters") == expected);
  CHECK(r.tree.metricValue("epochs_completed") == 1);
  job.batchnorm = false;  // then every convolution has its bias and no batch norm
  expected -= 2.0 * (16 + 16 + 32 + 32 + 64 + 64);
  expected += 16 + 16 + 32 + 32 + 64 + 64;
  CHECK(nn::runNnJob(job, quiet, never).tree.metricValue("parameters") == expected);
}

TEST_CASE("mlp: SIGINT during epoch 2 keeps epoch 1, marked interrupted") {
  CancelToken token;
  CancelAt progress("epoch 2/3", token);
  const auto r = nn::runNnJob(quadrantJob("mlp"), progress, token);
  CHECK(r.interrupted);
  CHECK(r.tree.values("/training/test_accuracy").size() == 1);
  CHECK(r.tree.metricValue("epochs_completed") == 1);
}

TEST_CASE("nn jobs the engine cannot run are refused, naming the flag") {
  auto j = quadrantJob("mlp");
  j.ideal = false;
  j.analog.write_model = train::WriteModel::Circuit;
  j.resume = "any.h5";
  CHECK(errorOf(j).find("--resume: an analog run resumes with --write-model factors or reduced") !=
        std::string::npos);
  j = quadrantJob("mlp");
  j.layers = {784, 256, 10};
  const auto e = errorOf(j);
  CHECK(e.find("--layers") != std::string::npos);
  CHECK(e.find("data's 64 inputs") != std::string::npos);
  j = quadrantJob("mlp");
  j.dataset = "cifar10";
  j.data.clear();
  CHECK(errorOf(j).find("--data") != std::string::npos);
  j = quadrantJob("vgg8");
  j.width = 0;
  CHECK(errorOf(j).find("--width") != std::string::npos);
  j = quadrantJob("mlp");
  j.data = test::imageScratch("nn_empty");
  CHECK(errorOf(j).find("train-images-idx3-ubyte") != std::string::npos);
  // The read periphery and the refresh intervals.
  j = quadrantJob("mlp");
  j.analog.periphery.dac_bits = 1;
  CHECK(errorOf(j).find("--dac-bits: must be 0 (ideal) or 2 to 24 bits") != std::string::npos);
  j = quadrantJob("mlp");
  j.analog.periphery.adc_bits = 25;
  CHECK(errorOf(j).find("--adc-bits") != std::string::npos);
  j = quadrantJob("mlp");
  j.analog.periphery.read_noise = -0.1;
  CHECK(errorOf(j).find("--read-noise") != std::string::npos);
  j = quadrantJob("mlp");
  j.analog.read_refresh = -1;
  CHECK(errorOf(j).find("--read-refresh") != std::string::npos);
}

TEST_CASE("mlp: interrupted mid-epoch, then --resume: the uninterrupted run's final state") {
  const auto [whole, cut, resumed, again] = interruptAndResume(quadrantJob("mlp"), "nn_resume");
  int compared = 0;
  for (const auto& [path, d] : whole.tree.datasets()) {
    if (path.rfind("/state/", 0) != 0) continue;
    CAPTURE(path);
    CHECK(resumed.tree.values(path) == whole.tree.values(path));  // bit for bit, one thread
    ++compared;
  }
  CHECK(compared == 4);  // two layers' weights and biases

  auto other = again;
  other.learning_rate = 0.2;
  CHECK(errorOf(other).find("'learning_rate' differs") != std::string::npos);
}

TEST_CASE("vgg8 on CIFAR-10 batch fixtures: three channels of 32 x 32") {
  const auto dir = test::imageScratch("nn_cifar");
  test::Bytes records;
  for (std::uint32_t i = 0; i < 24; ++i) {
    records.push_back(static_cast<std::uint8_t>(i % 10));
    for (std::uint32_t k = 0; k < 3072; ++k) records.push_back(static_cast<std::uint8_t>(i * k));
  }
  test::writeBytes(dir / "data_batch_1.bin", records);
  test::writeBytes(dir / "test_batch.bin", records);
  NullProgress quiet;
  CancelToken never;
  auto job = quadrantJob("vgg8");
  job.dataset = "cifar10";
  job.data = dir;
  job.width = 0.125;
  job.epochs = 1;
  const auto r = nn::runNnJob(job, quiet, never);
  // 32 x 32 pooled three times to 4 x 4.
  const double expected = vgg8Width8Parameters(3, 16);
  CHECK(r.tree.metricValue("parameters") == expected);
  CHECK(r.tree.values("/training/test_accuracy").size() == 1);
}

TEST_CASE("train vgg8 on a corrupt data set: exit 2 naming the file and the byte offset") {
  const auto dir = test::imageScratch("nn_corrupt");
  test::Bytes records(2 * 3073 + 7, 1);
  test::writeBytes(dir / "data_batch_1.bin", records);
  const auto out = dir / "never.h5";
  const auto r = test::run("train vgg8 --ideal --dataset cifar10 --data " + dir.string() +
                           " --no-plot -q -o " + out.string());
  CHECK(r.status == 2);
  CHECK(r.output.find((dir / "data_batch_1.bin").string() + ": data: byte offset 6146: "
                      "truncated record: 7 of 3073 bytes") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  const auto badLayers = test::run("train mlp --ideal --layers 784,0,10 -q --no-plot -o " +
                                   out.string());
  CHECK(badLayers.status == 2);
  CHECK(badLayers.output.find("--layers: layer sizes must be positive") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("mlp on ECRAM tiles: one small epoch writes pulses and records them") {
  NullProgress quiet;
  CancelToken never;
  auto job = quadrantJob("mlp");
  job.ideal = false;
  job.layers = {64, 4, 10};
  job.subset = 32;
  job.epochs = 1;
  job.analog.params = app::resolveCard(app::defaultCardPath().string(), {}).params;
  job.analog.map.gmin_s = job.analog.params.gmin;
  job.analog.map.gmax_s = job.analog.params.gmax;
  job.analog.geometry = test::shippedLines(1);
  job.analog.map.w_scale = 2.0;
  job.analog.pulses.max_pulses = 2;
  const auto r = nn::runNnJob(job, quiet, never);
  CHECK(r.tree.metricValue("tiles") == 2);  // 65 x 8 and 5 x 20 cells
  CHECK(r.tree.metricValue("parameters") == 65 * 4 + 5 * 10);
  CHECK(r.tree.metricValue("pulses_total") > 0);
  CHECK(r.tree.metricValue("write_energy_j") > 0);
  CHECK(r.tree.metricValue("reads") == 2 * (32 + 80));  // both layers: training and test samples
  CHECK(r.tree.values("/training/pulses").back() == r.tree.metricValue("pulses_total"));
}

TEST_CASE("analog mlp: interrupted mid-epoch, then --resume: every weight and cell as uninterrupted") {
  NullProgress quiet;
  CancelToken never;
  auto job = quadrantJob("mlp");
  job.ideal = false;
  job.subset = 48;  // 3 batches an epoch: the refreshes below fall inside epochs
  job.analog = nn::defaultAnalogConfig();
  job.analog.tile_rows = job.analog.tile_cols = 32;  // several tiles a layer
  job.analog.refresh_batches = 2;
  job.analog.read_refresh = 2;
  job.analog.periphery.read_noise = 0.01;  // a third random stream per layer
  SUBCASE("pulse-factor write model (the default)") {}
  SUBCASE("reduced write model") { job.analog.write_model = train::WriteModel::Reduced; }
  CAPTURE(train::writeModelName(job.analog.write_model));
  const auto [whole, cut, resumed, again] = interruptAndResume(job, "nn_resume_analog");
  // The interrupted file describes its tiles after epoch 1, the state it resumes from.
  auto first = job;
  first.epochs = 1;
  CHECK(cut.tree.values("/layers/0/states") ==
        nn::runNnJob(first, quiet, never).tree.values("/layers/0/states"));
  int compared = 0;
  for (const auto& [path, d] : whole.tree.datasets()) {
    const bool state = path.rfind("/state/", 0) == 0 || path.rfind("/resume/", 0) == 0 ||
                       (path.rfind("/layers/", 0) == 0 && path.find("/states") != std::string::npos);
    if (!state || !std::holds_alternative<std::vector<double>>(d.data)) continue;
    // Energy sums run in another order; the profile is wall time.
    if (path.find("energy_j") != std::string::npos || path.find("profile") != std::string::npos) {
      continue;
    }
    CAPTURE(path);
    CHECK(resumed.tree.values(path) == whole.tree.values(path));  // bit for bit
    ++compared;
  }
  CHECK(compared > 20);
  for (const char* m : {"pulses_total", "write_phases", "disturb_total", "reads"}) {
    CAPTURE(m);
    CHECK(resumed.tree.metricValue(m) == whole.tree.metricValue(m));
  }
  CHECK(resumed.tree.metricValue("write_energy_j") ==
        doctest::Approx(whole.tree.metricValue("write_energy_j")).epsilon(1e-12));
  // The refresh profile (wall time) is that of the completed epochs: the interrupted run
  // reports the time it saved at the end of epoch 1, and the resumed run counts it in.
  const auto& refresh = cut.tree.values("/resume/profile_refresh_s");
  REQUIRE(refresh.size() == 2);
  CHECK(refresh[0] > 0.0);
  CHECK(cut.tree.metricValue("profile_read_refresh_s") == doctest::Approx(refresh[0]));
  CHECK(cut.tree.metricValue("profile_write_refresh_s") == doctest::Approx(refresh[1]));
  CHECK(resumed.tree.metricValue("profile_read_refresh_s") >= refresh[0]);

  auto other = again;
  other.analog.tile_rows = other.analog.tile_cols = 64;
  CHECK(errorOf(other).find("/config/analog attribute 'tile' differs") != std::string::npos);
}
