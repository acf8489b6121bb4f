"""Key names of the lowbit run archive, for h5py readers: the mirror of src/lowbit/archive/keys.hpp.

One class per record (RECORD is its name there and in docs/ARCHIVE.md's "Keys" section);
tests/unit/test_archive_keys.cpp checks that this file, the header and the doc hold the same keys.
A name ending or starting with "_" is a prefix or suffix (chance_<stratum>, <task>_s).
Reading a schema-1 archive: upgrade_v1(attrs, record) maps its old names (V1_RENAMES), as
lowbit's own readers do (archive.hpp upgrade_v1).
"""

SCHEMA_VERSION = 2


class Root:
    """/ (the root group): attributes and top-level groups"""
    RECORD = "root"
    SCHEMA_VERSION = "lowbit_schema_version"  # int64: the key names' version (archive.hpp)
    LOWBIT_VERSION = "lowbit_version"  # the lowbit that wrote the file
    RUN = "run"  # group: the run's metadata
    CONFIGS = "configs"  # group: one sub-group per configuration
    FITS = "fits"  # group: written by `lowbit fit`


class Table:
    """the attributes of every table's dataset (record.hpp Table)"""
    RECORD = "table"
    COLUMNS = "columns"  # one name per column
    UNITS = "units"  # one unit per column, "" = dimensionless
    ROWS = "rows"  # one name per row (optional)
    DESCRIPTION = "description"  # what the table holds (optional)


class Run:
    """/run attributes"""
    RECORD = "run"
    NAME = "name"  # the manifest's name
    MANIFEST = "manifest"  # the manifest's YAML text, verbatim
    MANIFEST_PATH = "manifest_path"  # where it was read
    MANIFEST_SHA = "manifest_sha"  # digest of the text: what --resume compares
    LOWBIT_VERSION = "lowbit_version"  # the lowbit that ran
    GIT_REVISION = "git_revision"  # at configure time
    HOSTS = "hosts"  # comma list
    RANKS = "ranks"  # MPI world size
    GROUP_SIZE = "group_size"  # ranks per configuration group
    BLAS = "blas"  # vendor and version of the BLAS
    BLAS_CORE = "blas_core"  # the OpenBLAS core that ran
    BLAS_SELECTION = "blas_selection"  # how that core was chosen
    BLAS_DETECTED_CORE = "blas_detected_core"  # what OpenBLAS detected
    BLAS_THREADS = "blas_threads"  # BLAS threads
    OMP_THREADS = "omp_threads"  # OpenMP threads per rank (core/threads.hpp)
    OMP_THREADS_SOURCE = "omp_threads_source"  # OMP_NUM_THREADS, SLURM_CPUS_PER_TASK or cpus/ranks
    OMP_WAIT_POLICY = "omp_wait_policy"  # passive, active or default (libgomp's spin-then-sleep)
    CONFIGS_TOTAL = "configs_total"  # configurations of the manifest
    STARTED = "started"  # UTC ISO 8601
    FINISHED = "finished"  # UTC ISO 8601
    COMPLETE = "complete"  # 0/1: every configuration committed


class Config:
    """/configs/<id>: attributes other than params::, and members"""
    RECORD = "config"
    ID = "id"  # the configuration id (lowbit plan)
    MODEL = "model"  # the model's name in the manifest
    MODEL_PATH = "model_path"  # its checkpoint
    FAMILY = "family"  # its family (fit's cross-family check)
    N_PARAMS = "n_params"  # non-embedding parameters (N of the laws)
    VOCAB_SIZE = "vocab_size"  # the model's vocabulary
    CALIB_AVAILABLE_TOKENS = "calib_available_tokens"  # tokens the windows are drawn from
    WEIGHTS_DIGEST = "weights_digest"  # FNV-1a 64 of the compressed weights
    MANIFEST_SHA = "manifest_sha"  # the run's manifest_sha (check_staging)
    COMPLETE = "complete"  # = 1, written last
    LAYERS = "layers"  # table: layers:: columns
    EVAL = "eval"  # table: eval:: columns
    TIMINGS = "timings"  # group: timings:: (run-dependent)
    TASKS = "tasks"  # group: tasks::
    DIAGNOSTICS = "diagnostics"  # group: diag:: and params::


class Params:
    """the compression parameters: attributes of /configs/<id> and of its diagnostics/"""
    RECORD = "params"
    METHOD = "method"  # the method table's name
    BITS = "bits"  # quantization: bits per weight
    GROUP = "group"  # quantization: group size, 0 = per channel
    SYM = "sym"  # quantization: 1 = symmetric grid
    SPARSITY = "sparsity"  # pruning: fraction removed
    NM = "nm"  # pruning: N:M pattern, "" = unstructured
    CALIB_SAMPLES = "calib_samples"  # calibration windows
    CALIB_SEQLEN = "calib_seqlen"  # tokens per window
    CALIB_TOKENS = "calib_tokens"  # windows × tokens (C of the laws)
    SEED = "seed"  # the calibration draw's seed


class Layers:
    """columns of /configs/<id>/layers (one row per linear)"""
    RECORD = "layers"
    LAYER = "layer"  # block index
    OUT_FEATURES = "out_features"  # rows of the weight
    IN_FEATURES = "in_features"  # columns of the weight
    OUT_ERROR = "out_error"  # ‖WX − ŴX‖² over the calibration tokens
    RTN_ERROR = "rtn_error"  # the same for plain RTN at the spec
    REL_ERROR = "rel_error"  # out_error / ‖WX‖²
    PRUNED = "pruned"  # weights set to zero
    TOTAL = "total"  # weights of the linear
    DAMP_RAISES = "damp_raises"  # OBS damping raised ×10 this often
    DEAD_COLUMNS = "dead_columns"  # input columns with a zero Hessian diagonal


class Eval:
    """columns and row of /configs/<id>/eval"""
    RECORD = "eval"
    NLL_PER_TOKEN = "nll_per_token"  # mean negative log-likelihood (nats)
    PPL = "ppl"  # exp(nll_per_token)
    TOKENS = "tokens"  # predicted tokens
    WINDOWS = "windows"  # evaluation windows
    PERPLEXITY = "perplexity"  # the row's name


class Timings:
    """/configs/<id>/timings attributes (run-dependent)"""
    RECORD = "timings"
    COMPRESS_S = "compress_s"  # seconds in compress_model
    EVAL_S = "eval_s"  # seconds of perplexity
    TASKS_S = "tasks_s"  # seconds of task evaluation
    DIAGNOSTICS_S = "diagnostics_s"  # seconds of diagnostics
    COMPRESSIONS = "compressions"  # compress_model calls (1 per compressed config)
    TOTAL_S = "total_s"  # seconds of the configuration
    COLLECTIVE_S = "collective_s"  # seconds in collectives
    RANKS = "ranks"  # ranks of the group
    FINISHED = "finished"  # UTC ISO 8601
    PEAK_MODEL_BYTES = "peak_model_bytes"  # the memory model, per rank


class Diag:
    """/configs/<id>/diagnostics (and diagnose.json): attributes other than params::, members"""
    RECORD = "diag"
    MODEL_PATH = "model_path"  # the FP model's checkpoint
    NOISE_REL_STD = "noise_rel_std"  # the noise control's relative std
    CALIB = "calib"  # the calibration corpus
    EVAL = "eval"  # what was evaluated (file, or held-out part)
    EVAL_SEQLEN = "eval_seqlen"  # tokens per evaluation window
    FACTS = "facts"  # the facts file of causal tracing
    LOSS_FP = "loss_fp"  # FP model's loss
    LOSS_Q = "loss_q"  # compressed model's loss
    LOSS_GAP = "loss_gap"  # loss_q − loss_fp
    LOSS_GAP_SE = "loss_gap_se"  # its standard error
    LOSS_UNIT = "loss_unit"  # "nats/token"
    EVAL_PREDICTIONS = "eval_predictions"  # predicted tokens
    N_LAYERS = "n_layers"  # blocks of the model
    N_HEADS = "n_heads"  # attention heads
    MODE = "mode"  # the failure-mode label
    MODE_REASON = "mode_reason"  # why that label
    TOP_N_JOINT_GAP_CLOSED = "top_n_joint_gap_closed"  # restoring the top n together
    TOP_N_COMPONENTS = "top_n_components"  # their names, comma list
    MODE_EVIDENCE = "mode_evidence"  # group: the classifier's measured inputs
    MODE_RULE = "mode_rule"  # group: mode_rule::
    LAYERS = "layers"  # table: per-block fidelity
    HEADS = "heads"  # table: per-head attention divergence
    ACTIVATIONS = "activations"  # table: activation statistics per site
    RESID_CHANNEL_MAX = "resid_channel_max"  # table: FP residual max per channel
    RESTORATION = "restoration"  # table: components put back to FP
    PATCHING = "patching"  # table: FP residual patched in per block
    TRACING = "tracing"  # group: tracing::
    REPAIRS = "repairs"  # table: training-free repairs
    REPAIR_DETAILS = "repair_details"  # group: one text attribute per repair


class ModeRule:
    """/configs/<id>/diagnostics/mode_rule attributes: the classifier's thresholds"""
    RECORD = "mode_rule"
    JS_BROKEN_BITS = "js_broken_bits"  # head JS above this = broken
    EARLY_FRACTION = "early_fraction"  # the early part of the depth
    SNR_COLLAPSE_DB = "snr_collapse_db"  # SNR below this = collapse
    TOP_N = "top_n"  # components restored together
    SHARE_MIN = "share_min"  # share of the gap they must close
    SPREAD_MAX = "spread_max"  # spread over layers
    GAP_MIN_NATS = "gap_min_nats"  # below this gap: no failure


class Tracing:
    """/configs/<id>/diagnostics/tracing attributes and members"""
    RECORD = "tracing"
    FACTS = "facts"  # facts traced
    SKIPPED = "skipped"  # facts skipped at load
    NOISE_SAMPLES = "noise_samples"  # corruptions per fact
    NOISE_STD = "noise_std"  # corruption noise std
    FP_P_CLEAN = "fp_p_clean"  # FP: p(answer) clean
    FP_P_CORRUPT = "fp_p_corrupt"  # FP: p(answer) corrupted
    FP_TOP1 = "fp_top1"  # FP: top-1 accuracy clean
    Q_P_CLEAN = "q_p_clean"  # compressed: p(answer) clean
    Q_P_CORRUPT = "q_p_corrupt"  # compressed: p(answer) corrupted
    Q_TOP1 = "q_top1"  # compressed: top-1 accuracy clean
    INDIRECT_EFFECT = "indirect_effect"  # table: indirect effect per block


class Tasks:
    """/configs/<id>/tasks attributes and members"""
    RECORD = "tasks"
    KIND = "kind"  # "task_eval"
    MODEL = "model"  # the evaluated model's path
    LIMIT = "limit"  # items per task, 0 = all
    FEWSHOT = "fewshot"  # few-shot examples
    SEED = "seed"  # the few-shot draw's seed
    TIMINGS = "timings"  # group: task_timings::
    TASKS = "tasks"  # table: task_cols:: columns, one row per task
    STRATA = "strata"  # table: strata:: columns, one row per stratum
    BY_TASK = "by_task"  # group: one group per task, by_task::
    BY_STRATUM = "by_stratum"  # group: one group per stratum, by_stratum::
    TASK_EVAL = "task_eval"  # the value of kind


class TaskTimings:
    """/configs/<id>/tasks/timings attributes"""
    RECORD = "task_timings"
    TOTAL_S = "total_s"  # seconds of all tasks
    TASK_SECONDS_SUFFIX = "_s"  # <task>_s: seconds of one task


class TaskCols:
    """the fixed columns of /configs/<id>/tasks/tasks (then <metric>, <metric>_stderr)"""
    RECORD = "task_cols"
    N_ITEMS = "n_items"  # items scored
    N_AVAILABLE = "n_available"  # items in the dataset
    FEWSHOT = "fewshot"  # few-shot examples
    CHANCE = "chance"  # chance level of the primary metric
    PRIMARY = "primary"  # the primary metric
    PRIMARY_STDERR = "primary_stderr"  # its standard error
    STDERR_SUFFIX = "_stderr"  # <metric>_stderr: a metric's standard error


class ByTask:
    """/configs/<id>/tasks/by_task/<task> attributes (then <metric>, <metric>_stderr)"""
    RECORD = "by_task"
    STRATUM = "stratum"  # the task's stratum
    FORMAT = "format"  # prompt format
    TYPE = "type"  # scoring type
    DATASET = "dataset"  # the data file
    PRIMARY_METRIC = "primary_metric"  # which metric is primary
    CHANCE = "chance"  # chance level
    N_ITEMS = "n_items"  # items scored
    FEWSHOT = "fewshot"  # few-shot examples


class Strata:
    """columns of /configs/<id>/tasks/strata (rows: stratum names)"""
    RECORD = "strata"
    SCORE = "score"  # mean primary metric of its tasks
    STDERR = "stderr"  # sqrt(Σ se²)/k
    CHANCE = "chance"  # mean chance level
    N_TASKS = "n_tasks"  # tasks in the stratum
    N_ITEMS = "n_items"  # items in the stratum


class ByStratum:
    """/configs/<id>/tasks/by_stratum/<stratum> attributes"""
    RECORD = "by_stratum"
    TASKS = "tasks"  # its tasks, comma list


class Fits:
    """/fits attributes (one sub-group per fit: fit::)"""
    RECORD = "fits"
    LAWS_FILE = "laws_file"  # where the laws were read
    SEED = "seed"  # bootstrap seed
    BOOTSTRAP = "bootstrap"  # bootstrap resamples asked for


class Fit:
    """/fits/<law.stratum> attributes and members"""
    RECORD = "fit"
    LAW = "law"  # the law's name
    EXPR = "expr"  # its muParser expression
    TARGET = "target"  # the fitted column
    STRATUM = "stratum"  # the stratum ("" = all rows)
    TABLE = "table"  # the point table's source
    LOSS = "loss"  # "huber" or "l2"
    START = "start"  # how the start was chosen
    HUBER_DELTA = "huber_delta"  # Huber's delta
    N_POINTS = "n_points"  # points fitted
    N_CONFIGS = "n_configs"  # configurations fitted
    N_DROPPED = "n_dropped"  # points dropped (non-finite)
    R2 = "r2"  # R²
    ADJ_R2 = "adj_r2"  # adjusted R²
    RMSE = "rmse"  # root mean squared residual
    MAE = "mae"  # mean absolute residual
    LOO_RMSE = "loo_rmse"  # leave-one-configuration-out RMSE
    LOO_MAE = "loo_mae"  # leave-one-configuration-out MAE
    COST = "cost"  # final Ceres cost
    N_STARTS = "n_starts"  # starts tried
    N_STARTS_OK = "n_starts_ok"  # starts that converged
    N_BOOT = "n_boot"  # bootstrap resamples fitted
    N_BOOT_FAILED = "n_boot_failed"  # resamples that failed
    SEED = "seed"  # bootstrap seed
    CI_LEVEL = "ci_level"  # confidence level of the intervals
    LOG_LINEAR_START = "log_linear_start"  # the log-linear start, when declared
    SERIES = "series"  # curves' series names, "; " list
    CURVE_AXIS = "curve_axis"  # the curves' x column
    PARAMS = "params"  # table: fit_params:: columns
    POINTS = "points"  # table: the law's variables, then fit_points::
    BOOTSTRAP = "bootstrap"  # table: parameters per resample
    CROSS_FAMILY = "cross_family"  # table: cross_family:: columns
    CURVES = "curves"  # table: curves:: columns
    POINTS_ON_AXIS = "points_on_axis"  # table: series and curve_axis per point


class FitParams:
    """columns of /fits/<fit>/params (rows: parameter names)"""
    RECORD = "fit_params"
    VALUE = "value"  # estimate
    LO = "lo"  # declared lower bound
    HI = "hi"  # declared upper bound
    CI_LO = "ci_lo"  # interval, low end
    CI_HI = "ci_hi"  # interval, high end
    SE_BOOT = "se_boot"  # bootstrap standard error
    SE_ASYM = "se_asym"  # asymptotic standard error
    START = "start"  # the start of the best fit
    AT_BOUND = "at_bound"  # 1 = estimate on a bound
    IDENTIFIED = "identified"  # 1 = the data determine it


class FitPoints:
    """the last columns of /fits/<fit>/points (after the law's variables)"""
    RECORD = "fit_points"
    Y = "y"  # measured target
    YHAT = "yhat"  # the law's value
    RESIDUAL = "residual"  # y − yhat
    LOO_PRED = "loo_pred"  # leave-one-configuration-out prediction


class CrossFamily:
    """columns of /fits/<fit>/cross_family (rows: train->test)"""
    RECORD = "cross_family"
    N_TRAIN = "n_train"  # points of the train family
    N_TEST = "n_test"  # points of the test family
    RMSE = "rmse"  # error predicting the test family
    MAE = "mae"  # mean absolute error there
    BIAS = "bias"  # mean signed error there


class Curves:
    """columns of /fits/<fit>/curves and points_on_axis (besides <curve_axis>)"""
    RECORD = "curves"
    SERIES = "series"  # index into /fits/<fit>@series
    YHAT = "yhat"  # the law along the axis


class Train:
    """train::summary_group: a trained model's attributes and members"""
    RECORD = "train"
    DIM = "dim"  # model width
    HIDDEN_DIM = "hidden_dim"  # MLP width
    N_LAYERS = "n_layers"  # blocks
    N_HEADS = "n_heads"  # heads
    VOCAB_SIZE = "vocab_size"  # vocabulary
    SEQ_LEN = "seq_len"  # training sequence length
    BATCH = "batch"  # sequences per step
    LR = "lr"  # peak learning rate
    SEED = "seed"  # initialisation and data seed
    STEPS = "steps"  # optimizer steps
    TOKENS = "tokens"  # tokens trained on
    NON_EMBEDDING_PARAMS = "non_embedding_params"  # N
    TOTAL_PARAMS = "total_params"  # all parameters
    SECONDS = "seconds"  # training seconds
    FLOPS6ND = "flops_6nd"  # 6·N·D
    FLOPS = "flops"  # counted FLOPs
    FINAL_LOSS = "final_loss"  # last interval's mean loss
    CURVE = "curve"  # table: train_curve:: columns


class TrainCurve:
    """columns of a training curve (train::summary_group; family members: the first three)"""
    RECORD = "train_curve"
    STEP = "step"  # optimizer step
    TOKENS = "tokens"  # tokens so far
    LOSS = "loss"  # mean train loss of the interval
    LR = "lr"  # learning rate
    GRAD_NORM = "grad_norm"  # gradient norm
    SECONDS = "seconds"  # seconds so far


class Family:
    """testbed::family_group attributes and members (one sub-group per member: member::)"""
    RECORD = "family"
    RECIPE = "recipe"  # the family recipe
    INDIVIDUALS = "individuals"  # individuals of the knowledge world
    EXPOSURES = "exposures"  # exposures per fact
    TRAIN_TOKENS = "train_tokens"  # corpus tokens
    VOCAB_SIZE = "vocab_size"  # vocabulary
    KNOWLEDGE_BITS = "knowledge_bits"  # bits of knowledge in the corpus
    CHANCE_PREFIX = "chance_"  # chance_<stratum>: chance level
    TRAIN_SECONDS = "train_seconds"  # training seconds, all members
    WALL_SECONDS = "wall_seconds"  # wall seconds, all steps
    MEMBERS = "members"  # table: member:: columns, one row per member


class Member:
    """columns of the family's members table, and a member group's attributes"""
    RECORD = "member"
    NON_EMBEDDING_PARAMS = "non_embedding_params"  # N
    TOKENS = "tokens"  # tokens trained on
    FLOPS6ND = "flops_6nd"  # 6·N·D
    SECONDS = "seconds"  # training seconds
    FINAL_LOSS = "final_loss"  # last interval's mean loss
    ACC_PREFIX = "acc_"  # acc_<stratum>, acc_<stratum>_stderr: accuracy
    STDERR_SUFFIX = "_stderr"  # acc_<stratum>_stderr: its standard error
    BITS_STORED = "bits_stored"  # knowledge bits the member stores
    CURVE = "curve"  # table: train_curve:: step, tokens, loss


# Schema 1 -> 2 (docs/ARCHIVE.md "Changes in schema 2"): (record, old name) -> new name.
V1_RENAMES = {
    ("diag", "calib_nsamples"): Params.CALIB_SAMPLES,
    ("diag", "calib_seed"): Params.SEED,
    ("diag", "model"): Diag.MODEL_PATH,
}


def upgrade_v1(attrs, record):
    """A record's attributes (a dict) read from a schema-1 archive, with this schema's names."""
    out = dict(attrs)
    for (rec, old), new in V1_RENAMES.items():
        if rec == record and old in out and new not in out:
            out[new] = out.pop(old)
    return out
