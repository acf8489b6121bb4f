// lowbit/testbed/family.cpp — the YAML recipe and the family run. defines: see family.hpp
#include "lowbit/testbed/family.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/tasks.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/model.hpp"
#include "lowbit/testbed/capacity.hpp"
#include "lowbit/testbed/corpus.hpp"

namespace lowbit::testbed {

using nlohmann::json;

namespace {

std::string where(const std::string& file, const std::string& path, const YAML::Node& n) {
  return cat(file, ":", n.Mark().line + 1, ": ", path);
}

template <class T>
T scalar(const YAML::Node& n, const std::string& file, const std::string& path) {
  if (!n.IsScalar()) LB_THROW(ConfigError, where(file, path, n), ": expected a scalar");
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    LB_THROW(ConfigError, where(file, path, n), ": '", n.Scalar(), "' is not a valid value");
  }
}

void check_keys(const YAML::Node& n, const std::string& file, const std::string& path,
                const std::set<std::string>& allowed) {
  if (!n.IsMap()) LB_THROW(ConfigError, where(file, path, n), ": expected a mapping");
  for (const auto& kv : n) {
    const std::string k = kv.first.as<std::string>();
    if (!allowed.count(k)) LB_THROW(ConfigError, where(file, path + "." + k, kv.first), ": unknown key");
  }
}

const std::set<std::string> kTrainKeys = {"seq_len", "batch", "steps", "lr", "min_lr_frac", "warmup", "grad_clip",
                                          "beta1", "beta2", "eps", "weight_decay", "seed", "log_every"};

}  // namespace

WorldConfig parse_world_config(const YAML::Node& n, const std::string& file) {
  WorldConfig c;
  check_keys(n, file, "corpus",
             {"seed", "individuals", "first_names", "last_names", "cities", "employers", "fields", "year_min",
              "year_max", "exposures", "templates_per_attribute", "reasoning_train_fraction", "probes_per_stratum",
              "choices"});
  auto geti = [&](const char* k, int& v) {
    if (n[k]) v = scalar<int>(n[k], file, cat("corpus.", k));
  };
  if (n["seed"]) c.seed = scalar<uint64_t>(n["seed"], file, "corpus.seed");
  geti("individuals", c.individuals);
  geti("first_names", c.first_names);
  geti("last_names", c.last_names);
  geti("cities", c.cities);
  geti("employers", c.employers);
  geti("fields", c.fields);
  geti("year_min", c.year_min);
  geti("year_max", c.year_max);
  geti("exposures", c.exposures);
  geti("templates_per_attribute", c.templates_per_attribute);
  geti("probes_per_stratum", c.probes_per_stratum);
  geti("choices", c.choices);
  if (n["reasoning_train_fraction"])
    c.reasoning_train_fraction = scalar<double>(n["reasoning_train_fraction"], file, "corpus.reasoning_train_fraction");
  c.validate(file + ": corpus");
  return c;
}

void parse_train_options(const YAML::Node& n, const std::string& file, const std::string& path,
                         train::TrainOptions& o) {
  auto p = [&](const char* k) { return cat(path, ".", k); };
  if (n["seq_len"]) o.seq_len = scalar<int>(n["seq_len"], file, p("seq_len"));
  if (n["batch"]) o.batch = scalar<int>(n["batch"], file, p("batch"));
  if (n["steps"]) o.steps = scalar<long long>(n["steps"], file, p("steps"));
  if (n["lr"]) o.lr = scalar<double>(n["lr"], file, p("lr"));
  if (n["min_lr_frac"]) o.min_lr_frac = scalar<double>(n["min_lr_frac"], file, p("min_lr_frac"));
  if (n["warmup"]) o.warmup = scalar<long long>(n["warmup"], file, p("warmup"));
  if (n["grad_clip"]) o.grad_clip = scalar<double>(n["grad_clip"], file, p("grad_clip"));
  if (n["beta1"]) o.adamw.beta1 = scalar<double>(n["beta1"], file, p("beta1"));
  if (n["beta2"]) o.adamw.beta2 = scalar<double>(n["beta2"], file, p("beta2"));
  if (n["eps"]) o.adamw.eps = scalar<double>(n["eps"], file, p("eps"));
  if (n["weight_decay"]) o.adamw.weight_decay = scalar<double>(n["weight_decay"], file, p("weight_decay"));
  if (n["seed"]) o.seed = scalar<uint64_t>(n["seed"], file, p("seed"));
  if (n["log_every"]) o.log_every = scalar<int>(n["log_every"], file, p("log_every"));
  o.validate(file + ": " + path);
}

FamilySpec load_family_spec(const std::string& yaml_path) {
  LB_INPUT_CHECK(file_exists(yaml_path), yaml_path, ": no such family YAML");
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml_path);
  } catch (const YAML::Exception& e) {
    LB_THROW(ConfigError, yaml_path, ": not valid YAML: ", e.what());
  }
  FamilySpec s;
  s.path = yaml_path;
  check_keys(root, yaml_path, "(top level)", {"corpus", "train", "family"});
  for (const char* k : {"corpus", "train", "family"})
    if (!root[k]) LB_THROW(ConfigError, yaml_path, ": missing top-level key '", k, "'");
  s.corpus = parse_world_config(root["corpus"], yaml_path);
  check_keys(root["train"], yaml_path, "train", kTrainKeys);
  parse_train_options(root["train"], yaml_path, "train", s.train);
  const YAML::Node fam = root["family"];
  check_keys(fam, yaml_path, "family", {"members", "threads"});
  if (fam["threads"]) s.threads = scalar<int>(fam["threads"], yaml_path, "family.threads");
  if (s.threads < 0) LB_THROW(ConfigError, where(yaml_path, "family.threads", fam["threads"]), ": must be >= 0");
  const YAML::Node members = fam["members"];
  if (!members || !members.IsSequence() || members.size() == 0)
    LB_THROW(ConfigError, yaml_path, ": family.members must be a non-empty list");
  std::set<std::string> names;
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string path = cat("family.members[", i, "]");
    const YAML::Node m = members[i];
    std::set<std::string> allowed = kTrainKeys;
    allowed.insert({"name", "dim", "n_layers", "n_heads", "hidden_dim"});
    check_keys(m, yaml_path, path, allowed);
    MemberSpec ms;
    for (const char* k : {"name", "dim", "n_layers", "n_heads", "hidden_dim"})
      if (!m[k]) LB_THROW(ConfigError, where(yaml_path, path, m), ": missing '", k, "'");
    ms.name = scalar<std::string>(m["name"], yaml_path, path + ".name");
    if (ms.name.empty() || ms.name.find_first_of("/ \\.") != std::string::npos)
      LB_THROW(ConfigError, where(yaml_path, path + ".name", m["name"]), ": '", ms.name,
               "' must be a plain folder name");
    if (!names.insert(ms.name).second)
      LB_THROW(ConfigError, where(yaml_path, path + ".name", m["name"]), ": duplicate member name '", ms.name, "'");
    ms.dim = scalar<int>(m["dim"], yaml_path, path + ".dim");
    ms.n_layers = scalar<int>(m["n_layers"], yaml_path, path + ".n_layers");
    ms.n_heads = scalar<int>(m["n_heads"], yaml_path, path + ".n_heads");
    ms.hidden_dim = scalar<int>(m["hidden_dim"], yaml_path, path + ".hidden_dim");
    ms.train = s.train;
    parse_train_options(m, yaml_path, path, ms.train);
    // The shape is checked now (vocabulary size comes from the corpus later; 8 stands in).
    train::check_trainable_config(
        train::llama_train_config(ms.dim, ms.hidden_dim, ms.n_layers, ms.n_heads, 8, ms.train.seq_len),
        yaml_path + ": " + path);
    s.members.push_back(std::move(ms));
  }
  return s;
}

json run_family(const FamilySpec& spec, const FamilyOptions& o) {
  namespace fs = std::filesystem;
  const auto t_start = std::chrono::steady_clock::now();
  LB_INPUT_CHECK(!o.out_dir.empty(), "family: no output folder");
  train::set_compute_threads(spec.threads);
  const std::string cdir = o.out_dir + "/corpus";
  log_info("testbed family: corpus (", spec.corpus.individuals, " individuals, ", spec.corpus.exposures,
           " exposures) -> ", cdir);
  const Corpus corpus = make_corpus(spec.corpus);
  const CorpusFiles files = write_corpus(corpus, cdir);
  auto tok = load_tokenizer(files.tokenizer);
  auto stream =
      std::make_shared<const std::vector<int>>(train::token_stream(*tok, read_file(files.train_text), kDocSep));
  const KnowledgeBits kb = knowledge_bits(corpus.world);
  std::vector<TaskSpec> tasks;
  for (const auto& y : files.task_yamls) tasks.push_back(load_task_spec(y, ""));

  json members = json::array();
  for (const MemberSpec& ms : spec.members) {
    const std::string mdir = o.out_dir + "/models/" + ms.name;
    fs::create_directories(mdir);
    const std::string model_path = mdir + "/model.bin", sum_path = mdir + "/train_summary.json";
    json entry;
    if (file_exists(sum_path) && file_exists(model_path)) {
      log_info("testbed family: ", ms.name, ": already trained, loading ", sum_path);
      entry = json::parse(read_file(sum_path));
      LB_INPUT_CHECK(entry.value("stream_hash", uint64_t(0)) == train::stream_hash(*stream), sum_path,
                     ": this member was trained on other data (the recipe's corpus changed); remove ", mdir,
                     " or choose another --out");
    } else {
      DecoderConfig cfg = train::llama_train_config(ms.dim, ms.hidden_dim, ms.n_layers, ms.n_heads, files.vocab_size,
                                                    ms.train.seq_len);
      log_info("testbed family: ", ms.name, ": dim ", ms.dim, " layers ", ms.n_layers, " heads ", ms.n_heads,
               " hidden ", ms.hidden_dim, ", ", cfg.non_embedding_params(), " non-embedding params, ", ms.train.steps,
               " steps");
      train::Trainer tr(cfg, ms.train, stream);
      Progress prog("train " + ms.name, ms.train.steps, "steps", o.quiet ? 1e9 : 10.0);
      tr.train(0, o.quiet ? nullptr : &prog);
      const train::TrainSummary s = tr.summary();
      auto model = train::to_model(cfg, tr.params());
      write_llama2c_model(*model, model_path);
      fs::copy_file(files.tokenizer, mdir + "/tokenizer.json", fs::copy_options::overwrite_existing);
      entry = train::summary_to_json(s);
      entry["name"] = ms.name;
      entry["stream_hash"] = train::stream_hash(*stream);
      entry["epochs"] = double(s.tokens) / double(stream->size());
      entry["exposures_seen"] = double(spec.corpus.exposures) * double(s.tokens) / double(stream->size());
      auto m = load_model(model_path);
      const KnowledgeStored ks = measure_knowledge(*m, *tok, corpus);
      json ka = json::array();
      for (const auto& a : ks.attributes)
        ka.push_back({{"name", a.name}, {"cardinality", a.cardinality}, {"facts", a.facts},
                      {"bits_stored", a.bits_stored}, {"bits_total", a.bits_total}, {"accuracy", a.accuracy}});
      entry["knowledge"] = {{"bits_stored", ks.bits_stored}, {"bits_total", ks.bits_total},
                            {"bits_per_param", ks.bits_stored / double(s.non_embedding_params)},
                            {"attributes", ka}};
      if (o.evaluate) {
        TaskOptions to;
        const EvalResult er = evaluate_tasks(*m, *tok, tasks, to);
        json strata = json::object();
        for (const auto& st : er.strata)
          strata[st.name] = {{"accuracy", st.score}, {"stderr", st.stderr_}, {"chance", st.chance},
                             {"items", st.n_items}};
        // Accuracy per probe kind (attribute, two_hop, age, comparison) within each stratum.
        json kinds = json::object();
        for (size_t si = 0; si < er.tasks.size() && si < corpus.probes.size(); ++si) {
          std::map<std::string, std::pair<double, double>> acc;
          const auto& items = er.tasks[si].items;
          for (size_t i = 0; i < items.size() && i < corpus.probes[si].size(); ++i) {
            auto& a = acc[corpus.probes[si][i].kind];
            a.first += items[i].pred == corpus.probes[si][i].answer;
            a.second += 1;
          }
          for (const auto& [k, v] : acc) kinds[kStrata[si]][k] = v.first / v.second;
        }
        entry["strata"] = strata;
        entry["probe_kinds"] = kinds;
      }
      write_file_atomic(sum_path, entry.dump(1) + "\n");
      log_info("testbed family: ", ms.name, ": loss ", s.final_loss, ", ", s.seconds, " s, knowledge ",
               ks.bits_stored, " bits");
    }
    members.push_back(entry);
  }
  double train_seconds = 0;
  for (const auto& m : members) train_seconds += m.value("seconds", 0.0);
  json sum = {{"recipe", spec.path},
              {"corpus",
               {{"dir", cdir},
                {"individuals", corpus.world.people.size()},
                {"exposures", spec.corpus.exposures},
                {"documents", corpus.documents.size()},
                {"train_tokens", stream->size()},
                {"vocab_size", files.vocab_size},
                {"knowledge_bits", {{"per_individual", kb.per_individual}, {"individuals_total", kb.individuals_total},
                                    {"headquarters", kb.headquarters}, {"total", kb.total()}}},
                {"chance", {{"memorization", corpus.chance[0]}, {"application", corpus.chance[1]},
                            {"reasoning", corpus.chance[2]}}}}},
              {"members", members},
              {"threads", spec.threads},
              {"train_seconds", train_seconds},
              {"wall_seconds",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count()}};
  write_file_atomic(o.out_dir + "/summary.json", sum.dump(1) + "\n");
  return sum;
}

archive::Group family_group(const json& S) {
  namespace kf = archive::keys::family;
  namespace km = archive::keys::member;
  namespace kc = archive::keys::train_curve;
  archive::Group g;
  const json& c = S.at("corpus");
  g.set(kf::kRecipe, S.at("recipe").get<std::string>());
  g.set(kf::kIndividuals, c.at("individuals").get<int64_t>());
  g.set(kf::kExposures, c.at("exposures").get<int64_t>());
  g.set(kf::kTrainTokens, c.at("train_tokens").get<int64_t>());
  g.set(kf::kVocabSize, c.at("vocab_size").get<int64_t>());
  g.set(kf::kKnowledgeBits, c.at("knowledge_bits").at("total").get<double>());
  for (const char* s : kStrata) g.set(cat(kf::kChancePrefix, s), c.at("chance").at(s).get<double>());
  g.set(kf::kTrainSeconds, S.at("train_seconds").get<double>());
  g.set(kf::kWallSeconds, S.at("wall_seconds").get<double>());
  archive::Table t;
  t.description = "testbed family: one row per member";
  t.add_column(km::kNonEmbeddingParams, "");
  t.add_column(km::kTokens, "tokens");
  t.add_column(km::kFlops6nd, "FLOP");
  t.add_column(km::kSeconds, "s");
  t.add_column(km::kFinalLoss, "nats/token");
  for (const char* s : kStrata) {
    t.add_column(cat(km::kAccPrefix, s), "");
    t.add_column(cat(km::kAccPrefix, s, km::kStderrSuffix), "");
  }
  t.add_column(km::kBitsStored, "bit");
  for (const json& m : S.at("members")) {
    std::vector<double> row = {m.at("non_embedding_params").get<double>(), m.at("tokens").get<double>(),
                               m.at("flops_6nd").get<double>(), m.at("seconds").get<double>(),
                               m.at("final_loss").get<double>()};
    for (const char* s : kStrata) {
      const bool has = m.contains("strata") && m["strata"].contains(s);
      row.push_back(has ? m["strata"][s]["accuracy"].get<double>() : NAN);
      row.push_back(has ? m["strata"][s]["stderr"].get<double>() : NAN);
    }
    row.push_back(m.at("knowledge").at("bits_stored").get<double>());
    t.add_row(row, m.at("name").get<std::string>());
    archive::Group& mg = g.group(m.at("name").get<std::string>());
    archive::Table curve;
    curve.description = "training curve: mean train loss over each log interval";
    curve.add_column(kc::kStep, "");
    curve.add_column(kc::kTokens, "tokens");
    curve.add_column(kc::kLoss, "nats/token");
    for (const json& r : m.at("history"))
      curve.add_row({r.at("step").get<double>(), r.at("tokens").get<double>(), r.at("loss").get<double>()});
    mg.tables[km::kCurve] = std::move(curve);
    mg.set(km::kNonEmbeddingParams, m.at("non_embedding_params").get<int64_t>());
    mg.set(km::kBitsStored, m.at("knowledge").at("bits_stored").get<double>());
  }
  g.tables[kf::kMembers] = std::move(t);
  return g;
}

}  // namespace lowbit::testbed
