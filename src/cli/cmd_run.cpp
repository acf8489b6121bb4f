// src/cli/cmd_run.cpp — `lowbit run MANIFEST`: execute an experiment manifest into an archive,
// serially or under mpirun/srun. defines: cli::cmd_run
#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/run/runner.hpp"

namespace lowbit::cli {

int cmd_run(const std::vector<std::string>& args) {
  po::options_description desc("options");
  run::RunOptions o;
  std::string comm, chunk;
  desc.add_options()("manifest", po::value(&o.manifest)->required(), "the experiment manifest (YAML)")(
      "output,o", po::value(&o.output), "archive path (default: the manifest's `output`)")(
      "resume", po::bool_switch(&o.resume),
      "continue the archive if it exists (or start it): complete configurations are never redone; a Slurm "
      "requeue runs the same command again")(
      "group-size", po::value(&o.group_size)->default_value(0),
      "ranks per configuration (data parallel calibration); 0 = the manifest's execution.group_size")(
      "limit", po::value(&o.limit)->default_value(0), "run at most this many configurations now (0 = all)")(
      "only", po::value(&o.only), "run only configurations whose id contains this text")(
      "chunk", po::value(&chunk),
      "I/N: run only the I-th (0-based) of N fixed slices of the configurations (configuration k of "
      "`lowbit plan` belongs to slice k mod N); used by the Slurm job array of `lowbit submit`")(
      "comm", po::value(&comm)->default_value(""),
      "communicator: serial | mpi (default: mpi when started by mpirun/srun, else serial)");
  po::positional_options_description pos;
  pos.add("manifest", 1);
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("run", "MANIFEST [--output ARCHIVE] [--resume] [options]",
                     "Runs every configuration of an experiment manifest (models x methods x sweep axes) and\n"
                     "writes one HDF5 archive (schema: docs/ARCHIVE.md). Launch with one process, or as\n"
                     "  mpirun -np R build/lowbit run MANIFEST     or     srun --mpi=pmix build/lowbit run MANIFEST\n"
                     "Ranks form groups of --group-size; groups take configurations from a shared queue; inside\n"
                     "a group the calibration samples are split over the ranks and the results are identical\n"
                     "to one process, bit for bit. A killed run keeps every finished configuration: rerun with\n"
                     "--resume to finish the rest. Example: lowbit run jobs/quickstart.yaml --output q.h5",
                     desc, args, vm, common, &pos))
    return 0;
  if (!chunk.empty()) {
    const auto slash = chunk.find('/');
    bool ok = slash != std::string::npos && slash > 0 && slash + 1 < chunk.size();
    if (ok) {
      try {
        size_t a = 0, b = 0;
        o.chunk_index = std::stoi(chunk.substr(0, slash), &a);
        o.chunk_count = std::stoi(chunk.substr(slash + 1), &b);
        ok = a == slash && b == chunk.size() - slash - 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    LB_INPUT_CHECK(ok && o.chunk_count >= 1 && o.chunk_index >= 0 && o.chunk_index < o.chunk_count, "--chunk '", chunk,
                   "' must be I/N with 0 <= I < N (e.g. 0/4)");
  }
  auto world = dist::make_world(comm);
  const auto s = run::run_manifest(o, *world);
  if (world->is_root()) {
    if (common.json) {
      emit_json({{"archive", s.archive}, {"configs", s.total}, {"already_complete", s.already}, {"completed", s.done},
                 {"ranks", s.ranks}, {"groups", s.groups}, {"seconds", s.seconds},
                 {"collective_seconds", s.collective_seconds}, {"compute_seconds", s.compute_seconds}});
    } else {
      log_info("run finished: ", s.done, " configurations now, ", s.already, " before, ", s.total, " in all; ",
               s.seconds, " s on ", s.ranks, " rank(s), ", s.collective_seconds, " s in collectives -> ", s.archive);
    }
  }
  return 0;
}

}  // namespace lowbit::cli
