// tests/unit/test_archive.cpp — HDF5 archive trees, the staging/commit protocol (serial), and the
// manifest's validation and expansion.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "lowbit/archive/archive.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/plan/manifest.hpp"
#include "paths.hpp"

using namespace lowbit;
using namespace lowbit::archive;

namespace {
Group sample_tree() {
  Group g;
  g.set("name", std::string("ünïcode ok"));
  g.set("bits", int64_t(4));
  g.set("sparsity", 0.5);
  g.set("curve", std::vector<double>{1, 2, 3});
  Table t;
  t.add_column("layer", "");
  t.add_column("out_error", "sum of squares");
  t.add_row({0, 1.25}, "layers.0.attn.q");
  t.add_row({1, -3e-300}, "layers.1.attn.q");
  t.description = "per-layer";
  g.tables["layers"] = t;
  Table empty;
  empty.add_column("x", "s");
  g.group("sub").tables["empty"] = empty;
  g.group("sub").set("complete", int64_t(1));
  return g;
}
}  // namespace

TEST(Archive, GroupTreeRoundTripsThroughHdf5) {
  const std::string dir = test::tmpdir("archive_rt");
  const Group g = sample_tree();
  write_group_file(dir + "/t.h5", g);
  EXPECT_FALSE(file_exists(dir + "/t.h5.tmp"));
  const Group back = read_group_file(dir + "/t.h5");
  EXPECT_EQ(back, g);
  EXPECT_EQ(deserialize(serialize(g)), g);
  EXPECT_EQ(read_group_file(dir + "/t.h5", "/sub").tables.at("empty").columns, std::vector<std::string>{"x"});
}

TEST(Archive, UnreadableFilesAreNamed) {
  const std::string dir = test::tmpdir("archive_bad");
  write_file_atomic(dir + "/not.h5", "plain text");
  try {
    read_group_file(dir + "/not.h5");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not.h5: not an HDF5 file"), std::string::npos) << e.what();
  }
  write_group_file(dir + "/t.h5", sample_tree());
  std::string bytes = read_file(dir + "/t.h5");
  write_file_atomic(dir + "/trunc.h5", bytes.substr(0, bytes.size() / 3));
  EXPECT_THROW(read_group_file(dir + "/trunc.h5"), InputError);
  EXPECT_THROW(read_group_file(dir + "/missing.h5"), InputError);
}

// Links make an HDF5 file a graph; the reader follows them, so a link back to an ancestor (hard,
// soft, or external to the file itself) recursed until the stack overflowed (fuzz_archive's
// structured mode, 2026-12-03). A group reached a second time is refused, naming both paths.
TEST(Archive, LinkCyclesAreRefusedNotFollowed) {
  const std::string dir = test::tmpdir("archive_links");
  const auto with_link = [&](const std::string& name, auto&& make) {
    const std::string path = dir + "/" + name + ".h5";
    write_group_file(path, sample_tree());
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    EXPECT_GE(f, 0);
    const hid_t sub = H5Gopen2(f, "/sub", H5P_DEFAULT);
    EXPECT_GE(make(f, sub, path), 0) << name;
    H5Gclose(sub);
    H5Fclose(f);
    return path;
  };
  const std::string hard = with_link("hard", [](hid_t f, hid_t sub, const std::string&) {
    return H5Lcreate_hard(f, "/", sub, "loop", H5P_DEFAULT, H5P_DEFAULT);
  });
  const std::string soft = with_link("soft", [](hid_t, hid_t sub, const std::string&) {
    return H5Lcreate_soft("/sub", sub, "loop", H5P_DEFAULT, H5P_DEFAULT);
  });
  const std::string ext = with_link("external", [](hid_t, hid_t sub, const std::string& self) {
    return H5Lcreate_external(self.c_str(), "/", sub, "loop", H5P_DEFAULT, H5P_DEFAULT);
  });
  const std::string twice = with_link("twice", [](hid_t f, hid_t, const std::string&) {
    return H5Lcreate_hard(f, "/sub", f, "sub2", H5P_DEFAULT, H5P_DEFAULT);
  });
  for (const auto& [path, names] : std::vector<std::pair<std::string, std::string>>{
           {hard, "group /sub/loop is a second link to /,"},
           {soft, "group /sub/loop is a second link to /sub,"},
           {ext, "group /sub/loop is a second link to /,"},
           {twice, "group /sub2 is a second link to /sub,"}}) {
    try {
      read_group_file(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const InputError& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find(path + ": " + names), std::string::npos) << w;
      EXPECT_NE(w.find("a lowbit archive is a tree"), std::string::npos) << w;
    }
  }
}

// A dataset header may claim any extent: a chunked dataset that was never written takes no space.
// The reader allocated rows x columns doubles before reading a byte (a 2^40 x 1 table: an 8 TiB
// allocation, fuzz_archive 2026-12-03); it is refused against the file's size first. And a `rows`
// attribute must name each row (the target's invariant; the reader did not check it).
TEST(Archive, TableExtentAndRowNamesAreChecked) {
  const std::string dir = test::tmpdir("archive_extent");
  const std::string path = dir + "/huge.h5";
  write_group_file(path, sample_tree());
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hsize_t dims[2] = {hsize_t(1) << 40, 1}, chunk[2] = {1, 1};
    const hid_t sp = H5Screate_simple(2, dims, nullptr), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    const hid_t d = H5Dcreate2(f, "big", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    EXPECT_GE(d, 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
  }
  try {
    read_group_file(path);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": dataset /big is 1099511627776 x 1 values, more than a file of "),
              std::string::npos) << e.what();
  }
  Group g = sample_tree();
  g.tables["layers"].rows.push_back("one too many");
  const std::string rows = dir + "/rows.h5";
  write_group_file(rows, g);
  try {
    read_group_file(rows);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(rows + ": dataset /layers has 2 rows but names 3"), std::string::npos) << e.what();
  }
}

TEST(Archive, StageCommitResumeProtocol) {
  const std::string dir = test::tmpdir("archive_run");
  RunArchive ar(dir + "/run.h5");
  ar.check_writable();
  auto world = dist::make_serial();
  Group run;
  run.set("name", std::string("t"));
  run.set("complete", int64_t(0));
  ar.commit(*world, run);
  EXPECT_TRUE(ar.exists());
  EXPECT_TRUE(ar.complete_configs().empty());
  Group c = sample_tree();
  ar.stage("m.rtn.b4/g:8", c);  // unsafe characters become '_'
  EXPECT_EQ(ar.staged_configs(), std::set<std::string>{"m.rtn.b4_g_8"});
  EXPECT_EQ(ar.complete_configs(), std::set<std::string>{"m.rtn.b4_g_8"});
  // Staged but not committed: read_all shows it, the archive file does not have it yet.
  EXPECT_EQ(read_group_file(ar.path()).groups.count("configs"), 1u);
  EXPECT_EQ(read_group_file(ar.path()).groups.at("configs").groups.size(), 0u);
  EXPECT_EQ(ar.read_all().groups.at("configs").groups.size(), 1u);
  ar.commit(*world, run);
  EXPECT_TRUE(ar.staged_configs().empty());
  const Group root = read_group_file(ar.path());
  const Group& got = root.groups.at("configs").groups.at("m.rtn.b4_g_8");
  EXPECT_EQ(std::get<int64_t>(got.attrs.at("complete")), 1);
  EXPECT_EQ(got.tables.at("layers"), c.tables.at("layers"));
  EXPECT_EQ(std::get<int64_t>(root.attrs.at("lowbit_schema_version")), kSchemaVersion);
  EXPECT_EQ(ar.complete_configs(), std::set<std::string>{"m.rtn.b4_g_8"});
}

TEST(Archive, NewerSchemaIsRefused) {
  const std::string dir = test::tmpdir("archive_schema");
  Group root;
  root.set("lowbit_schema_version", kSchemaVersion + 1);
  root.group("run").set("name", std::string("future"));
  write_group_file(dir + "/f.h5", root);
  try {
    RunArchive(dir + "/f.h5").read_run();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("newer lowbit"), std::string::npos) << e.what();
  }
}

TEST(Archive, UnwritableOutputIsRefusedBeforeWork) {
  EXPECT_THROW(RunArchive("/proc/lowbit-test.h5").check_writable(), InputError);
  EXPECT_THROW(RunArchive("/proc/self/nonexistent-dir/x.h5").check_writable(), InputError);
}

namespace {
std::string manifest_text() {
  return "name: t\n"
         "models:\n"
         "  - name: s\n"
         "    path: " + test::source("models/stories260K/stories260K.bin") + "\n"
         "calibration:\n"
         "  path: " + test::source("jobs/data/tinystories_sample.txt") + "\n"
         "  nsamples: [4, 8]\n"
         "  seqlen: 32\n"
         "seeds: [0, 1]\n"
         "methods:\n"
         "  - method: fp\n"
         "  - method: rtn\n"
         "    bits: [2, 4]\n"
         "    group: -1\n"
         "  - method: gptq\n"
         "    bits: 4\n"
         "    group: [4, -1]\n"
         "  - method: haar\n"
         "    sparsity: [0.25, 0.5]\n";
}
}  // namespace

TEST(Manifest, ExpandsTheCartesianProduct) {
  const auto m = plan::parse_manifest(manifest_text(), "/tmp/t.yaml");
  const auto cs = plan::expand(m);
  // fp 1 + rtn 2 bits × 2 nsamples × 2 seeds + gptq 2 groups × 2 × 2 + haar 2 (calibration-free)
  EXPECT_EQ(cs.size(), size_t(1 + 8 + 8 + 2));
  std::set<std::string> ids;
  for (const auto& c : cs) ids.insert(c.id);
  EXPECT_EQ(ids.size(), cs.size());
  EXPECT_TRUE(ids.count("s.gptq.b4.g4.asym.n8.s1"));
  EXPECT_TRUE(ids.count("s.haar.sp0.25"));
  EXPECT_EQ(m.output, "/tmp/t.h5");
}

TEST(Manifest, ReportsEveryProblemWithLineColumnAndKeyPath) {
  std::string t = manifest_text();
  t.replace(t.find("bits: [2, 4]"), 12, "bits: [2, 9]");
  t.replace(t.find("seqlen: 32"), 10, "seqlen: x");
  t += "colour: blue\n";
  try {
    plan::parse_manifest(t, "/tmp/bad.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("3 problems"), std::string::npos) << w;
    EXPECT_NE(w.find("/tmp/bad.yaml:13:11: methods[1].bits: 9 is outside 2..8"), std::string::npos) << w;
    EXPECT_NE(w.find("calibration.seqlen: must be an integer"), std::string::npos) << w;
    EXPECT_NE(w.find("colour: unknown key"), std::string::npos) << w;
  }
  EXPECT_THROW(plan::parse_manifest("name: [unclosed\n", "/tmp/y.yaml"), ConfigError);
}
