// src/cli/main.cpp — `lowbit` entry point: subcommand dispatch and the error-to-exit-code mapping.
// defines: main
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "lowbit/core/blas.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/threads.hpp"

using namespace lowbit;
using namespace lowbit::cli;

namespace {

const std::vector<Command>& commands() {
  static const std::vector<Command> c = {
      {"ppl", "perplexity of a model on a text file (non-overlapping windows)", cmd_ppl},
      {"generate", "greedy text generation from a prompt", cmd_generate},
      {"convert", "convert between llama2.c, Hugging Face (safetensors) and GGUF checkpoints", cmd_convert},
      {"info", "describe a checkpoint: architecture, sizes, tensors", cmd_info},
      {"quantize", "post-training quantization (RTN, GPTQ, AWQ), layer-wise, with exports", cmd_quantize},
      {"train", "train a LLaMA-style decoder on a text file (f32, CPU, AdamW, resumable)", cmd_train},
      {"testbed", "synthetic-knowledge testbed: corpus + probes per stratum, model-size family", cmd_testbed},
      {"prune", "pruning (magnitude, Wanda, SparseGPT, Haar wavelet subbands), layer-wise", cmd_prune},
      {"run", "run an experiment manifest into an HDF5 archive (serial, or under mpirun/srun)", cmd_run},
      {"inspect", "summarise a run archive: metadata, configurations, results", cmd_inspect},
      {"eval", "task scores (multiple choice, cloze, generation) per task and stratum, as lm-eval", cmd_eval},
      {"fit", "fit scaling laws per stratum to a sweep's point table (CIs, LOO, cross-family)", cmd_fit},
      {"diagnose", "failure-mode diagnostics of one compressed configuration, causal tests, repairs", cmd_diagnose},
      {"plan", "validate a manifest and list the configurations it expands to (runs nothing)", cmd_plan},
      {"submit", "submit a manifest to Slurm: the sweep as a job array, the fit as a dependent job", cmd_submit},
  };
  return c;
}

void usage(FILE* f) {
  std::fprintf(f,
               "lowbit %s — how language models break under compression\n\n"
               "usage: lowbit <command> [options]    (lowbit <command> --help for details)\n\ncommands:\n",
               LOWBIT_VERSION);
  for (const auto& c : commands()) std::fprintf(f, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(f,
               "\nEvery command accepts --json (one JSON object with the results on stdout), --quiet and "
               "--verbose.\nExit codes: 0 success, 2 bad input (the message names the file/field), 1 internal "
               "failure.\nWith no --model, commands use the embedded stories260K model (%s).\n",
               default_model_path().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // Before MPI_Init and any BLAS or OpenMP work: each may re-execute lowbit once (the libraries read
  // these choices when they load), then the thread counts are set (core/threads.hpp).
  select_wait_policy(argv);  // OMP_WAIT_POLICY=passive unless the user set it
  select_blas_core(argv);    // better BLAS kernels than OpenBLAS detected (core/blas.hpp)
  settle_thread_policy();
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("lowbit %s\nblas: %s\nthreads: %s\n", LOWBIT_VERSION, blas_summary().c_str(), threads_summary().c_str());
    return 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : commands()) {
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const Error& e) {
      std::fprintf(stderr, "lowbit %s: error: %s\n", c.name, e.what());
      if (e.kind() == ErrorKind::Internal)
        std::fprintf(stderr, "  (internal error raised at %s:%d; please report it)\n", e.src_file(), e.src_line());
      return e.exit_code();
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "lowbit %s: error: out of memory\n", c.name);
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lowbit %s: internal error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "lowbit: unknown command '%s'\n\n", name.c_str());
  usage(stderr);
  return 2;
}
