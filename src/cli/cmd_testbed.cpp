// src/cli/cmd_testbed.cpp — `lowbit testbed corpus|family`: the synthetic-knowledge testbed.
// defines: cli::cmd_testbed
#include <yaml-cpp/yaml.h>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/testbed/corpus.hpp"
#include "lowbit/testbed/family.hpp"

namespace lowbit::cli {

namespace {

int testbed_corpus(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string config, out;
  testbed::WorldConfig w;
  desc.add_options()("config,c", po::value(&config), "family YAML whose corpus: section is used (flags override it)")(
      "out,o", po::value(&out)->required(), "output folder")("seed", po::value<uint64_t>(), "world seed")(
      "individuals", po::value<int>(), "population size")("exposures", po::value<int>(),
                                                           "biographies per individual in the training text")(
      "probes", po::value<int>(), "probes per stratum");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("testbed corpus", "--out DIR [--config YAML] [--seed N] [--individuals N] [--exposures N]",
                     "Generates a synthetic world (individuals with birth city, year, month, employer, field;\n"
                     "employers with a headquarters city), renders it into training text with five statement forms\n"
                     "per attribute, and writes probe sets per stratum (memorization: a form seen with the\n"
                     "individual; application: a form never seen with them; reasoning: two-hop, age arithmetic and\n"
                     "birth-year comparison for individuals whose compositions are not in training) in the task-\n"
                     "harness format, task YAMLs, a word-level tokenizer.json and world.json with the knowledge\n"
                     "content in bits.\nExample: lowbit testbed corpus --config jobs/testbed_family.yaml --out /tmp/tb",
                     desc, args, vm, common))
    return 0;
  if (!config.empty()) w = testbed::load_family_spec(config).corpus;
  if (vm.count("seed")) w.seed = vm["seed"].as<uint64_t>();
  if (vm.count("individuals")) w.individuals = vm["individuals"].as<int>();
  if (vm.count("exposures")) w.exposures = vm["exposures"].as<int>();
  if (vm.count("probes")) w.probes_per_stratum = vm["probes"].as<int>();
  w.validate("corpus");
  const testbed::Corpus c = testbed::make_corpus(w);
  const testbed::CorpusFiles f = testbed::write_corpus(c, out);
  const testbed::KnowledgeBits kb = testbed::knowledge_bits(c.world);
  if (common.json) {
    emit_json({{"dir", out},
               {"documents", c.documents.size()},
               {"train_tokens", f.train_tokens},
               {"vocab_size", f.vocab_size},
               {"knowledge_bits", kb.total()},
               {"knowledge_bits_per_individual", kb.per_individual},
               {"probes", {c.probes[0].size(), c.probes[1].size(), c.probes[2].size()}},
               {"chance", {c.chance[0], c.chance[1], c.chance[2]}}});
  } else {
    std::printf("%s: %zu documents, %lld tokens, vocabulary %d, knowledge %.1f bits (%.2f per individual)\n",
                out.c_str(), c.documents.size(), f.train_tokens, f.vocab_size, kb.total(), kb.per_individual);
    for (size_t s = 0; s < testbed::kStrata.size(); ++s)
      std::printf("  %-13s %zu probes, chance %.3f  (%s)\n", testbed::kStrata[s], c.probes[s].size(), c.chance[s],
                  f.task_yamls[s].c_str());
  }
  return 0;
}

int testbed_family(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string yaml, out;
  bool no_eval = false;
  desc.add_options()("yaml", po::value(&yaml)->required(), "family recipe (corpus:, train:, family:)")(
      "out,o", po::value(&out)->default_value("testbed_family"), "output folder")(
      "no-eval", po::bool_switch(&no_eval), "skip scoring the probes with the task harness");
  po::positional_options_description pos;
  pos.add("yaml", 1);
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("testbed family", "YAML [--out DIR] [--no-eval]",
                     "Builds the corpus, trains every member of the family (seeded; a member already trained in\n"
                     "DIR is kept), measures the knowledge each stores in bits and scores the three probe strata\n"
                     "with the task harness. Writes DIR/summary.json (tokens, 6ND FLOPs, seconds, losses, accuracy).\n"
                     "Example: lowbit testbed family jobs/testbed_family.yaml --out /tmp/family",
                     desc, args, vm, common, &pos))
    return 0;
  const testbed::FamilySpec spec = testbed::load_family_spec(yaml);
  testbed::FamilyOptions o;
  o.out_dir = out;
  o.evaluate = !no_eval;
  o.quiet = common.quiet;
  const auto sum = testbed::run_family(spec, o);
  if (common.json) {
    emit_json(sum);
  } else {
    std::printf("%-6s %10s %10s %8s %8s %9s %6s %6s %6s\n", "member", "N(non-emb)", "tokens", "seconds", "loss",
                "know.bits", "mem", "app", "rea");
    for (const auto& m : sum["members"]) {
      auto acc = [&](const char* s) {
        return m.contains("strata") && m["strata"].contains(s) ? m["strata"][s]["accuracy"].get<double>() : -1.0;
      };
      std::printf("%-6s %10lld %10lld %8.1f %8.4f %9.1f %6.3f %6.3f %6.3f\n", m["name"].get<std::string>().c_str(),
                  m["non_embedding_params"].get<long long>(), m["tokens"].get<long long>(),
                  m["seconds"].get<double>(), m["final_loss"].get<double>(),
                  m["knowledge"]["bits_stored"].get<double>(), acc("memorization"), acc("application"),
                  acc("reasoning"));
    }
    std::printf("corpus knowledge %.1f bits; training %.1f s; wall %.1f s; summary %s/summary.json\n",
                sum["corpus"]["knowledge_bits"]["total"].get<double>(), sum["train_seconds"].get<double>(),
                sum["wall_seconds"].get<double>(), out.c_str());
  }
  return 0;
}

}  // namespace

int cmd_testbed(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: lowbit testbed corpus --out DIR [options] | lowbit testbed family YAML [--out DIR]\n"
      "  corpus   generate the synthetic world, training text, probes per stratum and tokenizer\n"
      "  family   build the corpus and train a family of model sizes on it (see jobs/testbed_family.yaml)\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage.c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "corpus") return testbed_corpus(rest);
  if (args[0] == "family") return testbed_family(rest);
  LB_FAIL_INPUT("testbed: unknown action '", args[0], "' (corpus or family)");
}

}  // namespace lowbit::cli
