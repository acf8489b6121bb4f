// lowbit/archive/archive.hpp — the run archive: one HDF5 file per run, schema in docs/ARCHIVE.md.
// defines: lowbit::archive::kSchemaVersion, write_group_file, read_group_file, serialize, deserialize,
//          RunArchive, schema_of, upgrade_v1, staged_schema
//
// Crash safety (a SIGKILL at any moment leaves a file HDF5 tools open, with every completed
// configuration intact): HDF5 cannot promise a consistent file when a writer dies mid-write, so the
// archive file is never modified in place. A finished configuration is first written whole to its
// own small file in ARCHIVE.staging/ (written to a temporary name, fsync'ed, renamed: it exists
// complete or not at all). A commit — at the start of a run, at the end, and when asked — merges the
// archive and the staged files into a new file written collectively by all ranks with parallel HDF5
// (MPI-IO driver, collective transfers), then renames it over the archive. A kill therefore leaves
// the last committed archive plus complete staged configurations; `lowbit run --resume` and
// `lowbit inspect` read both.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"

namespace lowbit::dist { class Comm; }

namespace lowbit::archive {

// The version of the archive's key names (archive/keys.hpp; docs/ARCHIVE.md lists each change).
// 2: the renames of keys::kV1Renames. Readers read 1 (mapped by upgrade_v1); runs never add to it.
inline constexpr int64_t kSchemaVersion = 2;

// The schema of a file's root group. Throws InputError naming `source` for a file without one
// (not a lowbit archive) or with a newer one than this lowbit's.
int64_t schema_of(const Group& root, const std::string& source);
// Schema 1 → current, in memory: renames keys::kV1Renames in every configuration, so readers of
// read_all() see one set of names whatever wrote the file.
void upgrade_v1(Group& root);
// The schema a staged configuration file (ARCHIVE.staging/<id>.h5, its root group) was written
// with: its version attribute, 1 without one (staged files of schema 1 had none).
int64_t staged_schema(const Group& staged_root);

// Write `root` as the root group of a new HDF5 file (serial; temporary name, fsync, rename).
void write_group_file(const std::string& path, const Group& root);
// Read a whole file (or one group of it, path like "/configs/x") back. Throws InputError naming
// the file for a missing or unreadable file.
Group read_group_file(const std::string& path, const std::string& group = "/");

// Byte serialisation of a Group (to broadcast trees between ranks).
std::vector<char> serialize(const Group& g);
Group deserialize(const std::vector<char>& bytes);

class RunArchive {
 public:
  explicit RunArchive(std::string path);
  const std::string& path() const { return path_; }
  std::string staging_dir() const { return path_ + ".staging"; }
  bool exists() const;

  // Checks that the archive's folder is writable (creates the staging folder and a probe file);
  // throws IoError naming the path otherwise. Call before any work.
  void check_writable() const;
  // The /run group of the committed archive (attributes). Throws InputError if the file was
  // written by a newer schema or is not a lowbit archive.
  Group read_run() const;
  // The committed archive's schema (schema_of).
  int64_t schema() const;
  // Before continuing an existing archive (run --resume): refuses, in one line naming the file and
  // both versions, an archive of an older schema (its configurations carry other key names).
  void check_resumable() const;
  // Ids of the configurations complete in the archive or in staging.
  std::set<std::string> complete_configs() const;
  std::set<std::string> staged_configs() const;
  // Stage one finished configuration (any one rank; whole or not at all).
  void stage(const std::string& id, const Group& config) const;
  // Collective over `world`: merge the archive, the staged configurations and `run` (replacing the
  // /run group) into a new file written with parallel HDF5, rename it over the archive, then remove
  // the merged staged files. `extra` groups (e.g. "fits") replace top-level groups of that name.
  void commit(dist::Comm& world, const Group& run, const std::map<std::string, Group>& extra = {}) const;
  // Everything committed plus staged, as one tree (for inspect and fit), in this schema's names.
  Group read_all() const;

  // Several jobs may share one archive (Slurm array tasks): an exclusive flock on ARCHIVE.lock,
  // taken by one rank per job around every read-merge-replace of the archive (commit takes it
  // itself). Re-entrant within a process; the kernel drops it when the process dies.
  class Lock {
   public:
    explicit Lock(std::string key) : key_(std::move(key)) {}
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
   private:
    std::string key_;
  };
  std::string lock_path() const { return path_ + ".lock"; }
  std::unique_ptr<Lock> lock() const;

 private:
  std::string path_;
};

// A configuration id as an HDF5-safe name.
std::string safe_name(const std::string& id);

}  // namespace lowbit::archive
