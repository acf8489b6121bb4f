// tests/unit/test_archive_keys.cpp — the archive's key names have one source: every constant of
// archive/keys.hpp is in its record's list, analysis/archive_keys.py and docs/ARCHIVE.md hold the
// same keys per record (and the same schema-2 renames); the writers write only those names; a
// schema-1 archive is read with the new names and refused for --resume, in one line.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "lowbit/archive/archive.hpp"
#include "lowbit/archive/keys.hpp"
#include "lowbit/archive/params.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/dist/comm.hpp"
#include "paths.hpp"

namespace lowbit {
namespace {

using namespace archive;
using KeySets = std::map<std::string, std::set<std::string>>;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

KeySets from_records() {
  KeySets out;
  for (const auto& r : keys::records())
    for (const char* k : r.keys) out[r.name].insert(k);
  return out;
}

// A line `| `key` | ... |` of a `### record `name`` section; a `<placeholder>` is dropped.
KeySets from_doc(const std::string& text) {
  KeySets out;
  std::string record;
  std::istringstream in(text);
  const std::regex heading("^### record `([a-z_]+)`.*"), row("^\\| `([^`]+)` \\|.*"), ph("<[a-z_]+>");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) record.clear();
    if (std::regex_match(line, m, heading)) record = m[1];
    else if (!record.empty() && std::regex_match(line, m, row)) out[record].insert(std::regex_replace(std::string(m[1]), ph, ""));
  }
  return out;
}

// The constants written in each `namespace x {  // ...` block of keys.hpp (kAll excluded), line
// by line (one constant per line is the header's layout).
KeySets from_header(const std::string& text) {
  KeySets out;
  const std::regex heading("^namespace ([a-z_]+) \\{  //.*"), constant("^inline constexpr Key k[A-Za-z0-9]+ = \"([^\"]*)\";.*");
  std::istringstream in(text);
  std::string record;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, heading)) record = m[1];
    else if (line.rfind("}  // namespace", 0) == 0) record.clear();
    else if (!record.empty() && std::regex_match(line, m, constant)) out[record].insert(m[1]);
  }
  return out;
}

// The Python mirror, as Python itself reads it: lines "record key", "schema N", "rename rec old new".
std::string python_dump() {
  const std::string script = test::source("analysis");
  const std::string cmd = std::string(LOWBIT_TEST_PYTHON) + " -c \"import sys; sys.path.insert(0, '" + script +
                          "'); import archive_keys as k\n"
                          "print('schema', k.SCHEMA_VERSION)\n"
                          "for c in vars(k).values():\n"
                          "    if isinstance(c, type) and hasattr(c, 'RECORD'):\n"
                          "        [print(c.RECORD, v) for n, v in vars(c).items() if n.isupper() and n != 'RECORD']\n"
                          "[print('rename', r, o, n) for (r, o), n in k.V1_RENAMES.items()]\"";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(p ? ::pclose(p) : -1, 0) << cmd;
  return out;
}

// "record.key" of every key in only one of the two, e.g. "+doc params.calib_seqlen" ("" = same).
std::string differences(const KeySets& a, const KeySets& b, const char* a_name, const char* b_name) {
  std::string out;
  auto one_way = [&](const KeySets& x, const KeySets& y, const char* name) {
    for (const auto& [record, keys] : x)
      for (const auto& k : keys)
        if (!y.count(record) || !y.at(record).count(k)) out += std::string(" only in ") + name + ": " + record + "." + k;
  };
  one_way(a, b, a_name);
  one_way(b, a, b_name);
  return out;
}

size_t count_keys(const KeySets& s) {
  size_t n = 0;
  for (const auto& [r, k] : s) n += k.size();
  return n;
}

TEST(ArchiveKeys, EveryConstantIsInItsRecordList) {
  const KeySets header = from_header(slurp(test::source("src/lowbit/archive/keys.hpp")));
  const KeySets records = from_records();
  EXPECT_GT(count_keys(records), 200u);  // the parser found the header's constants, not nothing
  EXPECT_EQ(differences(header, records, "keys.hpp", "records()"), "");
}

TEST(ArchiveKeys, PythonMirrorHoldsTheSameKeysAndRenames) {
  std::istringstream in(python_dump());
  KeySets py;
  std::set<std::tuple<std::string, std::string, std::string>> renames;
  long schema = -1;
  for (std::string a, b; in >> a >> b;) {
    if (a == "schema") schema = std::stol(b);
    else if (a == "rename") {
      std::string c, d;
      in >> c >> d;
      renames.insert({b, c, d});
    } else py[a].insert(b);
  }
  EXPECT_EQ(schema, kSchemaVersion);
  EXPECT_EQ(differences(py, from_records(), "archive_keys.py", "keys.hpp"), "");
  std::set<std::tuple<std::string, std::string, std::string>> cpp;
  for (const auto& r : keys::kV1Renames) cpp.insert({r.record, r.old_name, r.new_name});
  EXPECT_EQ(renames, cpp);
  EXPECT_FALSE(cpp.empty());
}

TEST(ArchiveKeys, DocListsEveryKeyAndNoOther) {
  const std::string doc = slurp(test::source("docs/ARCHIVE.md"));
  EXPECT_EQ(differences(from_doc(doc), from_records(), "docs/ARCHIVE.md", "keys.hpp"), "");
  EXPECT_NE(doc.find("# The run archive (schema version " + std::to_string(kSchemaVersion) + ")"), std::string::npos);
  // "Changes in schema 2": one row per rename, `record` | `old` | `new`.
  const std::regex row("\\| `([a-z_]+)` \\| `([a-z_]+)` \\| `([a-z_]+)` \\|");
  const size_t at = doc.find("## Changes in schema 2");
  ASSERT_NE(at, std::string::npos);
  const std::string section = doc.substr(at, doc.find("\n## ", at + 1) - at);
  std::set<std::tuple<std::string, std::string, std::string>> in_doc, cpp;
  for (auto m = std::sregex_iterator(section.begin(), section.end(), row); m != std::sregex_iterator(); ++m)
    in_doc.insert({(*m)[1], (*m)[2], (*m)[3]});
  for (const auto& r : keys::kV1Renames) cpp.insert({r.record, r.old_name, r.new_name});
  EXPECT_EQ(in_doc, cpp);
}

TEST(ArchiveKeys, RenamedKeysAreKeysOfTheirRecordAndOldNamesAreNot) {
  const KeySets records = from_records();
  for (const auto& r : keys::kV1Renames) {
    ASSERT_TRUE(records.count(r.record)) << r.record;
    const auto& ks = records.at(r.record);
    // diag's own keys plus the params record it carries
    const bool known = ks.count(r.new_name) || records.at("params").count(r.new_name);
    EXPECT_TRUE(known) << r.record << "." << r.new_name;
    EXPECT_FALSE(ks.count(r.old_name) || records.at("params").count(r.old_name)) << r.old_name;
  }
}

TEST(ArchiveKeys, OneWriterWritesTheParamsRecord) {
  CompressParams p;
  p.method = "gptq";
  p.quant = p.prune = true;  // every key once
  Group g;
  write_params(g, p);
  std::set<std::string> written, expected(std::begin(keys::params::kAll), std::end(keys::params::kAll));
  for (const auto& [k, v] : g.attrs) written.insert(k);
  EXPECT_EQ(written, expected);
  Group q;
  p.quant = p.prune = false;
  write_params(q, p);
  EXPECT_EQ(q.attrs.count(keys::params::kBits) + q.attrs.count(keys::params::kSparsity), 0u);
  EXPECT_EQ(q.attrs.size(), 5u);  // method and the four calibration keys
}

// A schema-1 archive as lowbit wrote it before the renames: one configuration with diagnostics.
Group v1_tree() {
  Group root;
  root.set(keys::root::kSchemaVersion, int64_t(1));
  root.group(keys::root::kRun).set(keys::run::kName, std::string("old"));
  Group& c = root.group(keys::root::kConfigs).group("m.gptq.b4");
  c.set(keys::config::kId, std::string("m.gptq.b4"));
  c.set(keys::params::kCalibSamples, int64_t(16));
  c.set(keys::config::kComplete, int64_t(1));
  Group& d = c.group(keys::config::kDiagnostics);
  d.set("calib_nsamples", int64_t(16));
  d.set("calib_seed", int64_t(3));
  d.set("model", std::string("/m/model.bin"));
  d.set(keys::diag::kMode, std::string("degradation"));
  return root;
}

void expect_upgraded(const Group& root) {
  const Group& d = root.groups.at(keys::root::kConfigs).groups.at("m.gptq.b4").groups.at(keys::config::kDiagnostics);
  EXPECT_EQ(d.number(keys::params::kCalibSamples, -1), 16);
  EXPECT_EQ(d.number(keys::params::kSeed, -1), 3);
  EXPECT_EQ(d.text(keys::diag::kModelPath), "/m/model.bin");
  EXPECT_EQ(d.text(keys::diag::kMode), "degradation");  // not renamed, kept
  for (const char* old : {"calib_nsamples", "calib_seed", "model"}) EXPECT_EQ(d.attrs.count(old), 0u) << old;
}

TEST(ArchiveKeys, SchemaOneIsReadWithTheNewNames) {
  const std::string dir = test::tmpdir("keys_v1_read");
  write_group_file(dir + "/v1.h5", v1_tree());
  RunArchive ar(dir + "/v1.h5");
  EXPECT_EQ(ar.schema(), 1);
  EXPECT_EQ(ar.read_run().text(keys::run::kName), "old");
  expect_upgraded(ar.read_all());
  // A committed schema-2 archive reads unchanged (upgrade_v1 applies to schema 1 only).
  Group v2 = v1_tree();
  v2.set(keys::root::kSchemaVersion, kSchemaVersion);
  write_group_file(dir + "/v2.h5", v2);
  const Group got = RunArchive(dir + "/v2.h5").read_all();
  EXPECT_EQ(got.groups.at(keys::root::kConfigs).groups.at("m.gptq.b4").groups.at(keys::config::kDiagnostics).attrs.count("calib_nsamples"), 1u);
}

TEST(ArchiveKeys, ResumeOntoSchemaOneIsRefusedInOneLine) {
  const std::string dir = test::tmpdir("keys_v1_resume");
  const std::string path = dir + "/v1.h5";
  write_group_file(path, v1_tree());
  const auto before = std::filesystem::last_write_time(path);
  try {
    RunArchive(path).check_resumable();
    FAIL() << "a schema-1 archive was accepted for --resume";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("schema 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("schema " + std::to_string(kSchemaVersion)), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_EQ(std::filesystem::last_write_time(path), before);  // nothing written
  Group v2 = v1_tree();
  v2.set(keys::root::kSchemaVersion, kSchemaVersion);
  write_group_file(dir + "/v2.h5", v2);
  EXPECT_NO_THROW(RunArchive(dir + "/v2.h5").check_resumable());
}

TEST(ArchiveKeys, StagedFilesCarryTheSchemaAndOldOnesAreUpgraded) {
  const std::string dir = test::tmpdir("keys_staged");
  RunArchive ar(dir + "/run.h5");
  ar.check_writable();
  Group c;
  c.set(keys::config::kId, std::string("new"));
  ar.stage("new", c);
  EXPECT_EQ(staged_schema(read_group_file(ar.staging_dir() + "/new.h5")), kSchemaVersion);
  // A schema-1 staged file (no version attribute) is read with the new names.
  Group old;
  old.groups["m.gptq.b4"] = v1_tree().groups.at(keys::root::kConfigs).groups.at("m.gptq.b4");
  write_group_file(ar.staging_dir() + "/m.gptq.b4.h5", old);
  EXPECT_EQ(staged_schema(old), 1);
  expect_upgraded(ar.read_all());
}

TEST(ArchiveKeys, CommitOntoSchemaOneRewritesItWhollyInSchemaTwo) {
  // What `lowbit fit` does to a schema-1 archive: the commit rewrites every configuration from
  // the mapped tree, so no file holds both sets of names.
  const std::string dir = test::tmpdir("keys_v1_commit");
  write_group_file(dir + "/v1.h5", v1_tree());
  RunArchive ar(dir + "/v1.h5");
  auto world = dist::make_serial();
  ar.commit(*world, ar.read_run(), {{keys::root::kFits, Group{}}});
  const Group root = read_group_file(ar.path());
  EXPECT_EQ(schema_of(root, ar.path()), kSchemaVersion);
  expect_upgraded(root);
}

}  // namespace
}  // namespace lowbit
