// lowbit/archive/keys.hpp — the names of every key the run archive holds, one namespace per record
// (a group's attributes, a group's members, or a table's columns), each with its meaning. Writers
// and readers use these constants, never a string of their own; analysis/archive_keys.py mirrors
// them for h5py readers and docs/ARCHIVE.md documents them (tests/unit/test_archive_keys.cpp checks
// both against records()). A key written with a placeholder in the docs (`<task>_s`) is a prefix or
// suffix here.
// defines: lowbit::archive::keys::{root, table, run, config, params, layers, eval, timings, diag, mode_rule,
//          tracing, tasks, task_timings, task_cols, by_task, strata, by_stratum, fits, fit,
//          fit_params, fit_points, cross_family, curves, train, train_curve, family, member},
//          Record, records(), Rename, kV1Renames
#pragma once

#include <span>

namespace lowbit::archive::keys {

using Key = const char*;

namespace root {  // / (the root group): attributes and top-level groups
inline constexpr Key kSchemaVersion = "lowbit_schema_version";  // int64: the key names' version (archive.hpp)
inline constexpr Key kLowbitVersion = "lowbit_version";          // the lowbit that wrote the file
inline constexpr Key kRun = "run";                               // group: the run's metadata
inline constexpr Key kConfigs = "configs";                       // group: one sub-group per configuration
inline constexpr Key kFits = "fits";                             // group: written by `lowbit fit`
inline constexpr Key kAll[] = {kSchemaVersion, kLowbitVersion, kRun, kConfigs, kFits};
}  // namespace root

namespace table {  // the attributes of every table's dataset (record.hpp Table)
inline constexpr Key kColumns = "columns";              // one name per column
inline constexpr Key kUnits = "units";                  // one unit per column, "" = dimensionless
inline constexpr Key kRows = "rows";                    // one name per row (optional)
inline constexpr Key kDescription = "description";      // what the table holds (optional)
inline constexpr Key kAll[] = {kColumns, kUnits, kRows, kDescription};
}  // namespace table

namespace run {  // /run attributes
inline constexpr Key kName = "name";                    // the manifest's name
inline constexpr Key kManifest = "manifest";            // the manifest's YAML text, verbatim
inline constexpr Key kManifestPath = "manifest_path";   // where it was read
inline constexpr Key kManifestSha = "manifest_sha";     // digest of the text: what --resume compares
inline constexpr Key kLowbitVersion = "lowbit_version"; // the lowbit that ran
inline constexpr Key kGitRevision = "git_revision";     // at configure time
inline constexpr Key kHosts = "hosts";                  // comma list
inline constexpr Key kRanks = "ranks";                  // MPI world size
inline constexpr Key kGroupSize = "group_size";         // ranks per configuration group
inline constexpr Key kBlas = "blas";                    // vendor and version of the BLAS
inline constexpr Key kBlasCore = "blas_core";           // the OpenBLAS core that ran
inline constexpr Key kBlasSelection = "blas_selection"; // how that core was chosen
inline constexpr Key kBlasDetectedCore = "blas_detected_core";  // what OpenBLAS detected
inline constexpr Key kBlasThreads = "blas_threads";     // BLAS threads
inline constexpr Key kOmpThreads = "omp_threads";       // OpenMP threads per rank (core/threads.hpp)
inline constexpr Key kOmpThreadsSource = "omp_threads_source";  // OMP_NUM_THREADS, SLURM_CPUS_PER_TASK or cpus/ranks
inline constexpr Key kOmpWaitPolicy = "omp_wait_policy";  // passive, active or default (libgomp's spin-then-sleep)
inline constexpr Key kConfigsTotal = "configs_total";   // configurations of the manifest
inline constexpr Key kStarted = "started";              // UTC ISO 8601
inline constexpr Key kFinished = "finished";            // UTC ISO 8601
inline constexpr Key kComplete = "complete";            // 0/1: every configuration committed
inline constexpr Key kAll[] = {kName,    kManifest,      kManifestPath,     kManifestSha,  kLowbitVersion,
                               kGitRevision, kHosts,     kRanks,            kGroupSize,    kBlas,
                               kBlasCore, kBlasSelection, kBlasDetectedCore, kBlasThreads, kOmpThreads,
                               kOmpThreadsSource, kOmpWaitPolicy, kConfigsTotal,
                               kStarted, kFinished,      kComplete};
}  // namespace run

namespace config {  // /configs/<id>: attributes other than params::, and members
inline constexpr Key kId = "id";                        // the configuration id (lowbit plan)
inline constexpr Key kModel = "model";                  // the model's name in the manifest
inline constexpr Key kModelPath = "model_path";         // its checkpoint
inline constexpr Key kFamily = "family";                // its family (fit's cross-family check)
inline constexpr Key kNParams = "n_params";             // non-embedding parameters (N of the laws)
inline constexpr Key kVocabSize = "vocab_size";         // the model's vocabulary
inline constexpr Key kCalibAvailableTokens = "calib_available_tokens";  // tokens the windows are drawn from
inline constexpr Key kWeightsDigest = "weights_digest"; // FNV-1a 64 of the compressed weights
inline constexpr Key kManifestSha = "manifest_sha";     // the run's manifest_sha (check_staging)
inline constexpr Key kComplete = "complete";            // = 1, written last
inline constexpr Key kLayers = "layers";                // table: layers:: columns
inline constexpr Key kEval = "eval";                    // table: eval:: columns
inline constexpr Key kTimings = "timings";              // group: timings:: (run-dependent)
inline constexpr Key kTasks = "tasks";                  // group: tasks::
inline constexpr Key kDiagnostics = "diagnostics";      // group: diag:: and params::
inline constexpr Key kAll[] = {kId,           kModel,       kModelPath, kFamily,  kNParams,
                               kVocabSize,    kCalibAvailableTokens,    kWeightsDigest, kManifestSha,
                               kComplete,     kLayers,      kEval,      kTimings, kTasks,
                               kDiagnostics};
}  // namespace config

namespace params {  // the compression parameters: attributes of /configs/<id> and of its diagnostics/
inline constexpr Key kMethod = "method";                // the method table's name
inline constexpr Key kBits = "bits";                    // quantization: bits per weight
inline constexpr Key kGroup = "group";                  // quantization: group size, 0 = per channel
inline constexpr Key kSym = "sym";                      // quantization: 1 = symmetric grid
inline constexpr Key kSparsity = "sparsity";            // pruning: fraction removed
inline constexpr Key kNm = "nm";                        // pruning: N:M pattern, "" = unstructured
inline constexpr Key kCalibSamples = "calib_samples";   // calibration windows
inline constexpr Key kCalibSeqlen = "calib_seqlen";     // tokens per window
inline constexpr Key kCalibTokens = "calib_tokens";     // windows × tokens (C of the laws)
inline constexpr Key kSeed = "seed";                    // the calibration draw's seed
inline constexpr Key kAll[] = {kMethod,       kBits,        kGroup,        kSym,  kSparsity,
                               kNm,           kCalibSamples, kCalibSeqlen, kCalibTokens, kSeed};
}  // namespace params

namespace layers {  // columns of /configs/<id>/layers (one row per linear)
inline constexpr Key kLayer = "layer";                  // block index
inline constexpr Key kOutFeatures = "out_features";     // rows of the weight
inline constexpr Key kInFeatures = "in_features";       // columns of the weight
inline constexpr Key kOutError = "out_error";           // ‖WX − ŴX‖² over the calibration tokens
inline constexpr Key kRtnError = "rtn_error";           // the same for plain RTN at the spec
inline constexpr Key kRelError = "rel_error";           // out_error / ‖WX‖²
inline constexpr Key kPruned = "pruned";                // weights set to zero
inline constexpr Key kTotal = "total";                  // weights of the linear
inline constexpr Key kDampRaises = "damp_raises";       // OBS damping raised ×10 this often
inline constexpr Key kDeadColumns = "dead_columns";     // input columns with a zero Hessian diagonal
inline constexpr Key kAll[] = {kLayer,  kOutFeatures, kInFeatures, kOutError,   kRtnError,
                               kRelError, kPruned,    kTotal,      kDampRaises, kDeadColumns};
}  // namespace layers

namespace eval {  // columns and row of /configs/<id>/eval
inline constexpr Key kNllPerToken = "nll_per_token";    // mean negative log-likelihood (nats)
inline constexpr Key kPpl = "ppl";                      // exp(nll_per_token)
inline constexpr Key kTokens = "tokens";                // predicted tokens
inline constexpr Key kWindows = "windows";              // evaluation windows
inline constexpr Key kPerplexity = "perplexity";        // the row's name
inline constexpr Key kAll[] = {kNllPerToken, kPpl, kTokens, kWindows, kPerplexity};
}  // namespace eval

namespace timings {  // /configs/<id>/timings attributes (run-dependent)
inline constexpr Key kCompressS = "compress_s";         // seconds in compress_model
inline constexpr Key kEvalS = "eval_s";                 // seconds of perplexity
inline constexpr Key kTasksS = "tasks_s";               // seconds of task evaluation
inline constexpr Key kDiagnosticsS = "diagnostics_s";   // seconds of diagnostics
inline constexpr Key kCompressions = "compressions";    // compress_model calls (1 per compressed config)
inline constexpr Key kTotalS = "total_s";               // seconds of the configuration
inline constexpr Key kCollectiveS = "collective_s";     // seconds in collectives
inline constexpr Key kRanks = "ranks";                  // ranks of the group
inline constexpr Key kFinished = "finished";            // UTC ISO 8601
inline constexpr Key kPeakModelBytes = "peak_model_bytes";  // the memory model, per rank
inline constexpr Key kAll[] = {kCompressS, kEvalS,   kTasksS,      kDiagnosticsS, kCompressions,
                               kTotalS,    kCollectiveS, kRanks,   kFinished,     kPeakModelBytes};
}  // namespace timings

namespace diag {  // /configs/<id>/diagnostics (and diagnose.json): attributes other than params::, members
inline constexpr Key kModelPath = "model_path";         // the FP model's checkpoint
inline constexpr Key kNoiseRelStd = "noise_rel_std";    // the noise control's relative std
inline constexpr Key kCalib = "calib";                  // the calibration corpus
inline constexpr Key kEval = "eval";                    // what was evaluated (file, or held-out part)
inline constexpr Key kEvalSeqlen = "eval_seqlen";       // tokens per evaluation window
inline constexpr Key kFacts = "facts";                  // the facts file of causal tracing
inline constexpr Key kLossFp = "loss_fp";               // FP model's loss
inline constexpr Key kLossQ = "loss_q";                 // compressed model's loss
inline constexpr Key kLossGap = "loss_gap";             // loss_q − loss_fp
inline constexpr Key kLossGapSe = "loss_gap_se";        // its standard error
inline constexpr Key kLossUnit = "loss_unit";           // "nats/token"
inline constexpr Key kEvalPredictions = "eval_predictions";  // predicted tokens
inline constexpr Key kNLayers = "n_layers";             // blocks of the model
inline constexpr Key kNHeads = "n_heads";               // attention heads
inline constexpr Key kMode = "mode";                    // the failure-mode label
inline constexpr Key kModeReason = "mode_reason";       // why that label
inline constexpr Key kTopNJointGapClosed = "top_n_joint_gap_closed";  // restoring the top n together
inline constexpr Key kTopNComponents = "top_n_components";  // their names, comma list
inline constexpr Key kModeEvidence = "mode_evidence";   // group: the classifier's measured inputs
inline constexpr Key kModeRule = "mode_rule";           // group: mode_rule::
inline constexpr Key kLayers = "layers";                // table: per-block fidelity
inline constexpr Key kHeads = "heads";                  // table: per-head attention divergence
inline constexpr Key kActivations = "activations";      // table: activation statistics per site
inline constexpr Key kResidChannelMax = "resid_channel_max";  // table: FP residual max per channel
inline constexpr Key kRestoration = "restoration";      // table: components put back to FP
inline constexpr Key kPatching = "patching";            // table: FP residual patched in per block
inline constexpr Key kTracing = "tracing";              // group: tracing::
inline constexpr Key kRepairs = "repairs";              // table: training-free repairs
inline constexpr Key kRepairDetails = "repair_details"; // group: one text attribute per repair
inline constexpr Key kAll[] = {kModelPath,   kNoiseRelStd, kCalib,       kEval,          kEvalSeqlen,
                               kFacts,       kLossFp,      kLossQ,       kLossGap,       kLossGapSe,
                               kLossUnit,    kEvalPredictions, kNLayers, kNHeads,        kMode,
                               kModeReason,  kTopNJointGapClosed, kTopNComponents,       kModeEvidence,
                               kModeRule,    kLayers,      kHeads,       kActivations,   kResidChannelMax,
                               kRestoration, kPatching,    kTracing,     kRepairs,       kRepairDetails};
}  // namespace diag

namespace mode_rule {  // /configs/<id>/diagnostics/mode_rule attributes: the classifier's thresholds
inline constexpr Key kJsBrokenBits = "js_broken_bits";  // head JS above this = broken
inline constexpr Key kEarlyFraction = "early_fraction"; // the early part of the depth
inline constexpr Key kSnrCollapseDb = "snr_collapse_db";  // SNR below this = collapse
inline constexpr Key kTopN = "top_n";                   // components restored together
inline constexpr Key kShareMin = "share_min";           // share of the gap they must close
inline constexpr Key kSpreadMax = "spread_max";         // spread over layers
inline constexpr Key kGapMinNats = "gap_min_nats";      // below this gap: no failure
inline constexpr Key kAll[] = {kJsBrokenBits, kEarlyFraction, kSnrCollapseDb, kTopN,
                               kShareMin,     kSpreadMax,     kGapMinNats};
}  // namespace mode_rule

namespace tracing {  // /configs/<id>/diagnostics/tracing attributes and members
inline constexpr Key kFacts = "facts";                  // facts traced
inline constexpr Key kSkipped = "skipped";              // facts skipped at load
inline constexpr Key kNoiseSamples = "noise_samples";   // corruptions per fact
inline constexpr Key kNoiseStd = "noise_std";           // corruption noise std
inline constexpr Key kFpPClean = "fp_p_clean";          // FP: p(answer) clean
inline constexpr Key kFpPCorrupt = "fp_p_corrupt";      // FP: p(answer) corrupted
inline constexpr Key kFpTop1 = "fp_top1";               // FP: top-1 accuracy clean
inline constexpr Key kQPClean = "q_p_clean";            // compressed: p(answer) clean
inline constexpr Key kQPCorrupt = "q_p_corrupt";        // compressed: p(answer) corrupted
inline constexpr Key kQTop1 = "q_top1";                 // compressed: top-1 accuracy clean
inline constexpr Key kIndirectEffect = "indirect_effect";  // table: indirect effect per block
inline constexpr Key kAll[] = {kFacts,   kSkipped,   kNoiseSamples, kNoiseStd, kFpPClean, kFpPCorrupt,
                               kFpTop1,  kQPClean,   kQPCorrupt,    kQTop1,    kIndirectEffect};
}  // namespace tracing

namespace tasks {  // /configs/<id>/tasks attributes and members
inline constexpr Key kKind = "kind";                    // "task_eval"
inline constexpr Key kModel = "model";                  // the evaluated model's path
inline constexpr Key kLimit = "limit";                  // items per task, 0 = all
inline constexpr Key kFewshot = "fewshot";              // few-shot examples
inline constexpr Key kSeed = "seed";                    // the few-shot draw's seed
inline constexpr Key kTimings = "timings";              // group: task_timings::
inline constexpr Key kTasks = "tasks";                  // table: task_cols:: columns, one row per task
inline constexpr Key kStrata = "strata";                // table: strata:: columns, one row per stratum
inline constexpr Key kByTask = "by_task";               // group: one group per task, by_task::
inline constexpr Key kByStratum = "by_stratum";         // group: one group per stratum, by_stratum::
inline constexpr Key kTaskEval = "task_eval";           // the value of kind
inline constexpr Key kAll[] = {kKind,  kModel,  kLimit,  kFewshot,  kSeed,     kTimings,
                               kTasks, kStrata, kByTask, kByStratum, kTaskEval};
}  // namespace tasks

namespace task_timings {  // /configs/<id>/tasks/timings attributes
inline constexpr Key kTotalS = "total_s";               // seconds of all tasks
inline constexpr Key kTaskSecondsSuffix = "_s";         // <task>_s: seconds of one task
inline constexpr Key kAll[] = {kTotalS, kTaskSecondsSuffix};
}  // namespace task_timings

namespace task_cols {  // the fixed columns of /configs/<id>/tasks/tasks (then <metric>, <metric>_stderr)
inline constexpr Key kNItems = "n_items";               // items scored
inline constexpr Key kNAvailable = "n_available";       // items in the dataset
inline constexpr Key kFewshot = "fewshot";              // few-shot examples
inline constexpr Key kChance = "chance";                // chance level of the primary metric
inline constexpr Key kPrimary = "primary";              // the primary metric
inline constexpr Key kPrimaryStderr = "primary_stderr"; // its standard error
inline constexpr Key kStderrSuffix = "_stderr";         // <metric>_stderr: a metric's standard error
inline constexpr Key kAll[] = {kNItems, kNAvailable, kFewshot, kChance, kPrimary, kPrimaryStderr, kStderrSuffix};
}  // namespace task_cols

namespace by_task {  // /configs/<id>/tasks/by_task/<task> attributes (then <metric>, <metric>_stderr)
inline constexpr Key kStratum = "stratum";              // the task's stratum
inline constexpr Key kFormat = "format";                // prompt format
inline constexpr Key kType = "type";                    // scoring type
inline constexpr Key kDataset = "dataset";              // the data file
inline constexpr Key kPrimaryMetric = "primary_metric"; // which metric is primary
inline constexpr Key kChance = "chance";                // chance level
inline constexpr Key kNItems = "n_items";               // items scored
inline constexpr Key kFewshot = "fewshot";              // few-shot examples
inline constexpr Key kAll[] = {kStratum, kFormat, kType, kDataset, kPrimaryMetric, kChance, kNItems, kFewshot};
}  // namespace by_task

namespace strata {  // columns of /configs/<id>/tasks/strata (rows: stratum names)
inline constexpr Key kScore = "score";                  // mean primary metric of its tasks
inline constexpr Key kStderr = "stderr";                // sqrt(Σ se²)/k
inline constexpr Key kChance = "chance";                // mean chance level
inline constexpr Key kNTasks = "n_tasks";               // tasks in the stratum
inline constexpr Key kNItems = "n_items";               // items in the stratum
inline constexpr Key kAll[] = {kScore, kStderr, kChance, kNTasks, kNItems};
}  // namespace strata

namespace by_stratum {  // /configs/<id>/tasks/by_stratum/<stratum> attributes
inline constexpr Key kTasks = "tasks";                  // its tasks, comma list
inline constexpr Key kAll[] = {kTasks};
}  // namespace by_stratum

namespace fits {  // /fits attributes (one sub-group per fit: fit::)
inline constexpr Key kLawsFile = "laws_file";           // where the laws were read
inline constexpr Key kSeed = "seed";                    // bootstrap seed
inline constexpr Key kBootstrap = "bootstrap";          // bootstrap resamples asked for
inline constexpr Key kAll[] = {kLawsFile, kSeed, kBootstrap};
}  // namespace fits

namespace fit {  // /fits/<law.stratum> attributes and members
inline constexpr Key kLaw = "law";                      // the law's name
inline constexpr Key kExpr = "expr";                    // its muParser expression
inline constexpr Key kTarget = "target";                // the fitted column
inline constexpr Key kStratum = "stratum";              // the stratum ("" = all rows)
inline constexpr Key kTable = "table";                  // the point table's source
inline constexpr Key kLoss = "loss";                    // "huber" or "l2"
inline constexpr Key kStart = "start";                  // how the start was chosen
inline constexpr Key kHuberDelta = "huber_delta";       // Huber's delta
inline constexpr Key kNPoints = "n_points";             // points fitted
inline constexpr Key kNConfigs = "n_configs";           // configurations fitted
inline constexpr Key kNDropped = "n_dropped";           // points dropped (non-finite)
inline constexpr Key kR2 = "r2";                        // R²
inline constexpr Key kAdjR2 = "adj_r2";                 // adjusted R²
inline constexpr Key kRmse = "rmse";                    // root mean squared residual
inline constexpr Key kMae = "mae";                      // mean absolute residual
inline constexpr Key kLooRmse = "loo_rmse";             // leave-one-configuration-out RMSE
inline constexpr Key kLooMae = "loo_mae";               // leave-one-configuration-out MAE
inline constexpr Key kCost = "cost";                    // final Ceres cost
inline constexpr Key kNStarts = "n_starts";             // starts tried
inline constexpr Key kNStartsOk = "n_starts_ok";        // starts that converged
inline constexpr Key kNBoot = "n_boot";                 // bootstrap resamples fitted
inline constexpr Key kNBootFailed = "n_boot_failed";    // resamples that failed
inline constexpr Key kSeed = "seed";                    // bootstrap seed
inline constexpr Key kCiLevel = "ci_level";             // confidence level of the intervals
inline constexpr Key kLogLinearStart = "log_linear_start";  // the log-linear start, when declared
inline constexpr Key kSeries = "series";                // curves' series names, "; " list
inline constexpr Key kCurveAxis = "curve_axis";         // the curves' x column
inline constexpr Key kParams = "params";                // table: fit_params:: columns
inline constexpr Key kPoints = "points";                // table: the law's variables, then fit_points::
inline constexpr Key kBootstrap = "bootstrap";          // table: parameters per resample
inline constexpr Key kCrossFamily = "cross_family";     // table: cross_family:: columns
inline constexpr Key kCurves = "curves";                // table: curves:: columns
inline constexpr Key kPointsOnAxis = "points_on_axis";  // table: series and curve_axis per point
inline constexpr Key kAll[] = {kLaw,      kExpr,     kTarget,      kStratum,    kTable,     kLoss,
                               kStart,    kHuberDelta, kNPoints,   kNConfigs,   kNDropped,  kR2,
                               kAdjR2,    kRmse,     kMae,         kLooRmse,    kLooMae,    kCost,
                               kNStarts,  kNStartsOk, kNBoot,      kNBootFailed, kSeed,     kCiLevel,
                               kLogLinearStart, kSeries, kCurveAxis, kParams,  kPoints,    kBootstrap,
                               kCrossFamily, kCurves, kPointsOnAxis};
}  // namespace fit

namespace fit_params {  // columns of /fits/<fit>/params (rows: parameter names)
inline constexpr Key kValue = "value";                  // estimate
inline constexpr Key kLo = "lo";                        // declared lower bound
inline constexpr Key kHi = "hi";                        // declared upper bound
inline constexpr Key kCiLo = "ci_lo";                   // interval, low end
inline constexpr Key kCiHi = "ci_hi";                   // interval, high end
inline constexpr Key kSeBoot = "se_boot";               // bootstrap standard error
inline constexpr Key kSeAsym = "se_asym";               // asymptotic standard error
inline constexpr Key kStart = "start";                  // the start of the best fit
inline constexpr Key kAtBound = "at_bound";             // 1 = estimate on a bound
inline constexpr Key kIdentified = "identified";        // 1 = the data determine it
inline constexpr Key kAll[] = {kValue, kLo, kHi, kCiLo, kCiHi, kSeBoot, kSeAsym, kStart, kAtBound, kIdentified};
}  // namespace fit_params

namespace fit_points {  // the last columns of /fits/<fit>/points (after the law's variables)
inline constexpr Key kY = "y";                          // measured target
inline constexpr Key kYhat = "yhat";                    // the law's value
inline constexpr Key kResidual = "residual";            // y − yhat
inline constexpr Key kLooPred = "loo_pred";             // leave-one-configuration-out prediction
inline constexpr Key kAll[] = {kY, kYhat, kResidual, kLooPred};
}  // namespace fit_points

namespace cross_family {  // columns of /fits/<fit>/cross_family (rows: train->test)
inline constexpr Key kNTrain = "n_train";               // points of the train family
inline constexpr Key kNTest = "n_test";                 // points of the test family
inline constexpr Key kRmse = "rmse";                    // error predicting the test family
inline constexpr Key kMae = "mae";                      // mean absolute error there
inline constexpr Key kBias = "bias";                    // mean signed error there
inline constexpr Key kAll[] = {kNTrain, kNTest, kRmse, kMae, kBias};
}  // namespace cross_family

namespace curves {  // columns of /fits/<fit>/curves and points_on_axis (besides <curve_axis>)
inline constexpr Key kSeries = "series";                // index into /fits/<fit>@series
inline constexpr Key kYhat = "yhat";                    // the law along the axis
inline constexpr Key kAll[] = {kSeries, kYhat};
}  // namespace curves

namespace train {  // train::summary_group: a trained model's attributes and members
inline constexpr Key kDim = "dim";                      // model width
inline constexpr Key kHiddenDim = "hidden_dim";         // MLP width
inline constexpr Key kNLayers = "n_layers";             // blocks
inline constexpr Key kNHeads = "n_heads";               // heads
inline constexpr Key kVocabSize = "vocab_size";         // vocabulary
inline constexpr Key kSeqLen = "seq_len";               // training sequence length
inline constexpr Key kBatch = "batch";                  // sequences per step
inline constexpr Key kLr = "lr";                        // peak learning rate
inline constexpr Key kSeed = "seed";                    // initialisation and data seed
inline constexpr Key kSteps = "steps";                  // optimizer steps
inline constexpr Key kTokens = "tokens";                // tokens trained on
inline constexpr Key kNonEmbeddingParams = "non_embedding_params";  // N
inline constexpr Key kTotalParams = "total_params";     // all parameters
inline constexpr Key kSeconds = "seconds";              // training seconds
inline constexpr Key kFlops6nd = "flops_6nd";           // 6·N·D
inline constexpr Key kFlops = "flops";                  // counted FLOPs
inline constexpr Key kFinalLoss = "final_loss";         // last interval's mean loss
inline constexpr Key kCurve = "curve";                  // table: train_curve:: columns
inline constexpr Key kAll[] = {kDim,    kHiddenDim, kNLayers, kNHeads,  kVocabSize,         kSeqLen,
                               kBatch,  kLr,        kSeed,    kSteps,   kTokens,            kNonEmbeddingParams,
                               kTotalParams, kSeconds, kFlops6nd, kFlops, kFinalLoss,       kCurve};
}  // namespace train

namespace train_curve {  // columns of a training curve (train::summary_group; family members: the first three)
inline constexpr Key kStep = "step";                    // optimizer step
inline constexpr Key kTokens = "tokens";                // tokens so far
inline constexpr Key kLoss = "loss";                    // mean train loss of the interval
inline constexpr Key kLr = "lr";                        // learning rate
inline constexpr Key kGradNorm = "grad_norm";           // gradient norm
inline constexpr Key kSeconds = "seconds";              // seconds so far
inline constexpr Key kAll[] = {kStep, kTokens, kLoss, kLr, kGradNorm, kSeconds};
}  // namespace train_curve

namespace family {  // testbed::family_group attributes and members (one sub-group per member: member::)
inline constexpr Key kRecipe = "recipe";                // the family recipe
inline constexpr Key kIndividuals = "individuals";      // individuals of the knowledge world
inline constexpr Key kExposures = "exposures";          // exposures per fact
inline constexpr Key kTrainTokens = "train_tokens";     // corpus tokens
inline constexpr Key kVocabSize = "vocab_size";         // vocabulary
inline constexpr Key kKnowledgeBits = "knowledge_bits"; // bits of knowledge in the corpus
inline constexpr Key kChancePrefix = "chance_";         // chance_<stratum>: chance level
inline constexpr Key kTrainSeconds = "train_seconds";   // training seconds, all members
inline constexpr Key kWallSeconds = "wall_seconds";     // wall seconds, all steps
inline constexpr Key kMembers = "members";              // table: member:: columns, one row per member
inline constexpr Key kAll[] = {kRecipe,     kIndividuals,  kExposures,    kTrainTokens, kVocabSize,
                               kKnowledgeBits, kChancePrefix, kTrainSeconds, kWallSeconds, kMembers};
}  // namespace family

namespace member {  // columns of the family's members table, and a member group's attributes
inline constexpr Key kNonEmbeddingParams = "non_embedding_params";  // N
inline constexpr Key kTokens = "tokens";                // tokens trained on
inline constexpr Key kFlops6nd = "flops_6nd";           // 6·N·D
inline constexpr Key kSeconds = "seconds";              // training seconds
inline constexpr Key kFinalLoss = "final_loss";         // last interval's mean loss
inline constexpr Key kAccPrefix = "acc_";               // acc_<stratum>, acc_<stratum>_stderr: accuracy
inline constexpr Key kStderrSuffix = "_stderr";         // acc_<stratum>_stderr: its standard error
inline constexpr Key kBitsStored = "bits_stored";       // knowledge bits the member stores
inline constexpr Key kCurve = "curve";                  // table: train_curve:: step, tokens, loss
inline constexpr Key kAll[] = {kNonEmbeddingParams, kTokens,       kFlops6nd,   kSeconds, kFinalLoss,
                               kAccPrefix,          kStderrSuffix, kBitsStored, kCurve};
}  // namespace member

// A record: its name (docs/ARCHIVE.md's `### record` heading, analysis/archive_keys.py's RECORD)
// and its keys.
struct Record {
  const char* name;
  std::span<const Key> keys;
};
inline constexpr Record kRecords[] = {
    {"root", root::kAll},           {"table", table::kAll},         {"run", run::kAll},
    {"config", config::kAll},       {"params", params::kAll},
    {"layers", layers::kAll},       {"eval", eval::kAll},
    {"timings", timings::kAll},     {"diag", diag::kAll},
    {"mode_rule", mode_rule::kAll}, {"tracing", tracing::kAll},
    {"tasks", tasks::kAll},         {"task_timings", task_timings::kAll},
    {"task_cols", task_cols::kAll}, {"by_task", by_task::kAll},
    {"strata", strata::kAll},       {"by_stratum", by_stratum::kAll},
    {"fits", fits::kAll},           {"fit", fit::kAll},
    {"fit_params", fit_params::kAll}, {"fit_points", fit_points::kAll},
    {"cross_family", cross_family::kAll}, {"curves", curves::kAll},
    {"train", train::kAll},         {"train_curve", train_curve::kAll},
    {"family", family::kAll},       {"member", member::kAll},
};
inline constexpr std::span<const Record> records() { return kRecords; }

// The deliberate renames of schema 2 (docs/ARCHIVE.md "Changes in schema 2"): in `record`, the
// schema-1 name `old_name` is now `new_name`. Readers map them (archive.hpp upgrade_v1).
struct Rename {
  const char* record;
  const char* old_name;
  const char* new_name;
};
inline constexpr Rename kV1Renames[] = {
    {"diag", "calib_nsamples", params::kCalibSamples},  // /configs/<id>@calib_samples's name
    {"diag", "calib_seed", params::kSeed},              // /configs/<id>@seed's name
    {"diag", "model", diag::kModelPath},                // a path: /configs/<id>@model is a name
};

}  // namespace lowbit::archive::keys
