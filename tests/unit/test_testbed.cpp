// tests/unit/test_testbed.cpp — the synthetic world, corpus, probes, tokenizer and recipe parser:
// determinism, exact knowledge bits, each stratum's defining property checked against the
// training text, probe answers recomputed from the world, tokenizer round trip, recipe errors.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/testbed/capacity.hpp"
#include "lowbit/testbed/corpus.hpp"
#include "lowbit/testbed/family.hpp"
#include "lowbit/train/decoder_grad.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;
using namespace lowbit::testbed;

namespace {

WorldConfig small_world() {
  WorldConfig w;
  w.seed = 7;
  w.individuals = 60;
  w.exposures = 6;
  w.probes_per_stratum = 90;
  return w;
}

std::string all_text(const Corpus& c) {
  std::string t;
  for (const auto& d : c.documents) t += d + "\n";
  return t;
}

// The individual index of a probe id "p<i>-...".
int person_of(const Probe& p) { return std::stoi(p.id.substr(1, p.id.find('-') - 1)); }

}  // namespace

TEST(Testbed, WorldIsSeededAndKnowledgeBitsExact) {
  const Corpus a = make_corpus(small_world()), b = make_corpus(small_world());
  EXPECT_EQ(a.documents, b.documents);
  WorldConfig other = small_world();
  other.seed = 8;
  EXPECT_NE(make_corpus(other).documents, a.documents);
  const KnowledgeBits k = knowledge_bits(a.world);
  // 24 cities, 50 years, 12 months, 24 employers, 16 fields by default.
  const double per = std::log2(24.0) + std::log2(50.0) + std::log2(12.0) + std::log2(24.0) + std::log2(16.0);
  EXPECT_NEAR(k.per_individual, per, tol::kF64ClosedForm);
  EXPECT_NEAR(k.total(), 60 * per + 24 * std::log2(24.0), tol::kF64ManyTerms);
  std::set<std::string> names;
  for (const auto& p : a.world.people) names.insert(p.name());
  EXPECT_EQ(names.size(), 60u);  // full names are unique
}

TEST(Testbed, StrataHaveTheirDefiningProperties) {
  const Corpus c = make_corpus(small_world());
  const std::string text = all_text(c);
  const World& w = c.world;
  for (size_t s = 0; s < 3; ++s) {
    ASSERT_EQ(c.probes[s].size(), 90u) << kStrata[s];
    for (const Probe& p : c.probes[s]) {
      ASSERT_GE(p.answer, 0);
      ASSERT_LT(p.answer, int(p.choices.size()));
      EXPECT_EQ(std::set<std::string>(p.choices.begin(), p.choices.end()).size(), p.choices.size()) << p.id;
      const std::string fact = p.context + p.choices[size_t(p.answer)] + ".";
      if (s == 0) {
        EXPECT_NE(text.find(fact), std::string::npos) << "memorization probe not in training: " << fact;
      } else if (s == 1) {
        // The fact in this form never appears (the context alone may: "X was born in" also starts
        // the birth-year form "X was born in the year ...").
        EXPECT_EQ(text.find(fact), std::string::npos) << "application fact seen in training: " << fact;
      } else {
        EXPECT_EQ(text.find(p.context), std::string::npos) << "reasoning context seen in training: " << p.context;
      }
    }
  }
  // Answers recomputed from the world, independently of the renderer.
  for (const Probe& p : c.probes[0]) {
    const Individual& who = w.people[size_t(person_of(p))];
    for (Attribute a : kAttributes)
      if (p.kind == attribute_name(a)) EXPECT_EQ(p.choices[size_t(p.answer)], " " + w.values(a)[size_t(w.value(who, a))]);
  }
  int kinds[3] = {0, 0, 0};
  for (const Probe& p : c.probes[2]) {
    const int i = person_of(p);
    const Individual& who = w.people[size_t(i)];
    EXPECT_FALSE(c.reasoning_train[size_t(i)]) << "reasoning probe on an individual whose compositions are trained";
    const std::string& ans = p.choices[size_t(p.answer)];
    if (p.kind == "two_hop") {
      ++kinds[0];
      EXPECT_EQ(ans, " " + w.cities[size_t(w.employer_hq[size_t(w.value(who, Attribute::Employer))])]);
      for (const auto& ch : p.choices) {  // every option is some employer's headquarters
        bool is_hq = false;
        for (int hq : w.employer_hq) is_hq |= ch == " " + w.cities[size_t(hq)];
        EXPECT_TRUE(is_hq) << ch;
      }
    } else if (p.kind == "age") {
      ++kinds[1];
      EXPECT_EQ(ans, " " + std::to_string(2020 - w.birth_year(who)));
    } else {
      ++kinds[2];
      EXPECT_EQ(p.kind, "comparison");
      const std::string other = p.context.substr(p.context.find("before ") + 7);
      const std::string other_name = other.substr(0, other.find('?'));
      for (const auto& q : w.people)
        if (q.name() == other_name) EXPECT_EQ(ans, w.birth_year(who) < w.birth_year(q) ? " yes" : " no");
    }
  }
  EXPECT_GT(kinds[0], 0);
  EXPECT_GT(kinds[1], 0);
  EXPECT_GT(kinds[2], 0);
  EXPECT_DOUBLE_EQ(c.chance[0], 0.25);
  EXPECT_NEAR(c.chance[2], (0.25 + 0.25 + 0.5) / 3, tol::kProbeMixChance);
}

TEST(Testbed, FilesTokenizerAndTaskYamls) {
  const Corpus c = make_corpus(small_world());
  const std::string dir = test::tmpdir("testbed_files");
  const CorpusFiles f = write_corpus(c, dir);
  auto tok = load_tokenizer(f.tokenizer);
  EXPECT_EQ(tok->kind(), "hf-bpe");
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_LT(tok->vocab_size(), 700);
  // Words are single tokens; BOS is prepended; text round-trips; unseen text falls back to bytes.
  EXPECT_EQ(tok->encode(" Paris", false).size(), 1u);
  EXPECT_EQ(tok->encode(" 1987", false).size(), 1u);
  const auto ids = tok->encode(c.documents[0], true);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(tok->decode(ids), c.documents[0]);
  const std::string odd = "Zyx qwv! 12345 ~";
  EXPECT_EQ(tok->decode(tok->encode(odd, false)), odd);
  EXPECT_GT(tok->encode(odd, false).size(), 5u);
  // Probe files: JSON lines in the harness format, one per probe; task YAMLs point at them.
  for (size_t s = 0; s < 3; ++s) {
    std::ifstream in(f.probe_files[s]);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      EXPECT_EQ(j.at("type"), "mc");
      EXPECT_EQ(j.at("context").get<std::string>(), c.probes[s][n].context);
      EXPECT_EQ(j.at("answer").get<int>(), c.probes[s][n].answer);
      ++n;
    }
    EXPECT_EQ(n, c.probes[s].size());
    const std::string y = read_file(f.task_yamls[s]);
    EXPECT_NE(y.find(std::string("stratum: ") + kStrata[s]), std::string::npos);
    EXPECT_NE(y.find(std::string("dataset: probes/") + kStrata[s] + ".jsonl"), std::string::npos);
  }
  const auto world = nlohmann::json::parse(read_file(f.world_json));
  EXPECT_NEAR(world["knowledge_bits"]["total"].get<double>(), knowledge_bits(c.world).total(), tol::kF64ManyTerms);
}

TEST(Testbed, UntrainedModelStoresAlmostNoKnowledge) {
  // ~900 one-sequence forwards of a tiny model: threads only add barrier waits here.
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Corpus c = make_corpus(small_world());
  const CorpusFiles f = write_corpus(c, test::tmpdir("testbed_cap"));
  auto tok = load_tokenizer(f.tokenizer);
  const DecoderConfig cfg = train::llama_train_config(16, 32, 1, 2, tok->vocab_size(), 32);
  auto m = train::to_model(cfg, train::init_parameters(cfg, train::make_layout(cfg), 3));
  const KnowledgeStored k = measure_knowledge(*m, *tok, c);
  EXPECT_NEAR(k.bits_total, knowledge_bits(c.world).total(), tol::kKnowledgeBitsResummed);
  ASSERT_EQ(k.attributes.size(), 6u);
  // Near-uniform predictions from an N(0, 0.02²) init: a few percent at most (noise, floored at 0).
  EXPECT_LT(k.bits_stored, 0.05 * k.bits_total);
  for (const auto& a : k.attributes) EXPECT_LT(a.accuracy, 0.3) << a.name;
  omp_set_num_threads(saved);
}

TEST(Testbed, RecipeParsesAndRejectsBadKeys) {
  const FamilySpec s = load_family_spec(test::source("jobs/testbed_family.yaml"));
  ASSERT_GE(s.members.size(), 5u);
  long long lo = 1LL << 60, hi = 0;
  for (const auto& m : s.members) {
    const auto n = train::llama_train_config(m.dim, m.hidden_dim, m.n_layers, m.n_heads, 500, 64).non_embedding_params();
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  EXPECT_GE(double(hi) / double(lo), 16.0);  // the family spans at least 16x in non-embedding params
  const std::string dir = test::tmpdir("testbed_yaml");
  auto expect_config_error = [&](const std::string& yaml, const std::string& needle) {
    write_file_atomic(dir + "/f.yaml", yaml);
    try {
      load_family_spec(dir + "/f.yaml");
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string ok_members = "family:\n  members:\n    - {name: a, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32}\n";
  expect_config_error("corpus: {individuals: 20, colour: 3}\ntrain: {steps: 10, warmup: 1}\n" + ok_members,
                      "corpus.colour");
  expect_config_error("corpus: {individuals: 20}\ntrain: {steps: 10, warmup: 20}\n" + ok_members, "train.warmup");
  expect_config_error("corpus: {individuals: 20}\ntrain: {steps: 10, warmup: 1}\nfamily:\n  members:\n"
                      "    - {name: a, dim: 30, n_layers: 1, n_heads: 4, hidden_dim: 32}\n",
                      "family.members[0]");
  expect_config_error("corpus: {individuals: 5000}\ntrain: {steps: 10, warmup: 1}\n" + ok_members,
                      "corpus.individuals");
}

TEST(Testbed, TinyFamilyRunsScoresAndContinues) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::string dir = test::tmpdir("testbed_family");
  write_file_atomic(dir + "/f.yaml",
                    "corpus: {individuals: 20, exposures: 3, probes_per_stratum: 12}\n"
                    "train: {steps: 4, warmup: 1, seq_len: 16, batch: 4, log_every: 2}\n"
                    "family:\n  members:\n"
                    "    - {name: a, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32}\n"
                    "    - {name: b, dim: 32, n_layers: 1, n_heads: 2, hidden_dim: 64, steps: 3}\n");
  const FamilySpec spec = load_family_spec(dir + "/f.yaml");
  FamilyOptions o;
  o.out_dir = dir + "/out";
  o.quiet = true;
  const auto s1 = run_family(spec, o);
  ASSERT_EQ(s1["members"].size(), 2u);
  EXPECT_EQ(s1["members"][1]["steps"].get<long long>(), 3);  // the member's override
  for (const auto& m : s1["members"]) {
    for (const char* st : kStrata) EXPECT_EQ(m["strata"][st]["items"].get<long long>(), 12) << st;
    const double n = m["non_embedding_params"].get<double>(), t = m["tokens"].get<double>();
    EXPECT_DOUBLE_EQ(m["flops_6nd"].get<double>(), 6 * n * t);
  }
  // A second run finds both members trained and reproduces their records.
  const auto s2 = run_family(spec, o);
  EXPECT_EQ(s2["members"], s1["members"]);
  const archive::Group g = family_group(s2);
  const archive::Table& t = g.tables.at("members");
  ASSERT_EQ(t.nrows(), 2u);
  EXPECT_DOUBLE_EQ(t.at(1, size_t(t.col("bits_stored"))), s2["members"][1]["knowledge"]["bits_stored"].get<double>());
  EXPECT_EQ(g.groups.at("a").tables.at("curve").nrows(), 2u);
  // A changed corpus must not silently reuse members trained on the old one.
  FamilySpec changed = spec;
  changed.corpus.seed = 99;
  EXPECT_THROW(run_family(changed, o), InputError);
  omp_set_num_threads(saved);
}
