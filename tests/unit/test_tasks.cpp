// tests/unit/test_tasks.cpp — the task harness: log-likelihoods against an independent path (the
// full-sequence forward and a log-softmax written here), lm-eval's encode_pair and truncation,
// the KV-cache sharing across choices, greedy generation against generate_greedy, answer
// normalisation and GSM8K extraction, stderr, few-shot prompts, every loader on the real files of
// ../shared/data (counts from data/SOURCES.md, a known first item), YAML errors, aggregation.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/eval/generate.hpp"
#include "lowbit/eval/tasks.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/synthetic.hpp"
#include "paths.hpp"
#include "test_configs.hpp"
#include "tolerances.hpp"

using namespace lowbit;

namespace {

// The models here have 260K parameters or fewer: OpenMP fan-out only adds barriers, and on a
// loaded 2-core machine those cost 10x the work. Each test runs single-threaded and restores the
// setting (results do not depend on it: the forward parallelises over independent rows).
class Tasks : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = omp_get_max_threads();
    omp_set_num_threads(1);
  }
  void TearDown() override { omp_set_num_threads(saved_); }

 private:
  int saved_ = 1;
};

const Model& stories() {
  static auto m = load_model(test::source("models/stories260K/stories260K.bin"));
  return *m;
}
const Tokenizer& stories_tok() {
  static auto t = load_tokenizer(test::source("models/stories260K/tok512.bin"));
  return *t;
}

// Independent reference: one forward over the whole (truncated) sequence, log-softmax in long double.
struct RefLL {
  double logprob = 0;
  bool greedy = true;
  int first_rank = 0;
};
RefLL reference_ll(const Model& m, std::vector<int> ctx, const std::vector<int>& cont, int L) {
  std::vector<int> all = ctx;
  all.insert(all.end(), cont.begin(), cont.end());
  while (int(all.size()) > L + 1) all.erase(all.begin());
  all.pop_back();
  Tensor logits;
  forward_logits(m, all.data(), 1, int(all.size()), logits);
  RefLL r;
  const int V = m.cfg.vocab_size, n = int(all.size());
  for (size_t j = 0; j < cont.size(); ++j) {
    const float* row = logits.row(n - int(cont.size()) + int(j));
    long double z = 0;
    for (int i = 0; i < V; ++i) z += std::exp((long double)row[i]);
    r.logprob += double((long double)row[cont[j]] - std::log(z));
    int best = 0, rank = 1;
    for (int i = 0; i < V; ++i) {
      if (row[i] > row[best]) best = i;
      if (row[i] > row[cont[j]]) ++rank;
    }
    if (best != cont[j]) r.greedy = false;
    if (j == 0) r.first_rank = rank;
  }
  return r;
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string p = dir + "/" + name;
  std::ofstream(p) << text;
  return p;
}

Task shipped(const std::string& name) {
  return load_task(load_task_spec(test::source("jobs/tasks/" + name + ".yaml"), test::shared("data")));
}

}  // namespace

TEST_F(Tasks, EncodePairMovesTrailingSpaceAndSplitsTheWhole) {
  const Tokenizer& tok = stories_tok();
  std::vector<int> c1, k1, c2, k2;
  encode_pair(tok, "Lily went to the ", "park", c1, k1);
  encode_pair(tok, "Lily went to the", " park", c2, k2);
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(k1, k2);
  // context tokens + continuation tokens = the encoding of the concatenation (BOS first).
  std::vector<int> whole = tok.encode("Lily went to the park", true);
  std::vector<int> joined = c1;
  joined.insert(joined.end(), k1.begin(), k1.end());
  EXPECT_EQ(joined, whole);
  EXPECT_EQ(c1.front(), tok.bos_id());
  EXPECT_EQ(tok.decode(k1), " park");
  // Empty context: the prefix token (BOS), continuation encoded alone.
  encode_pair(tok, "", "Once", c1, k1);
  EXPECT_EQ(c1, std::vector<int>{tok.bos_id()});
  EXPECT_EQ(k1, tok.encode("Once", false));
}

TEST_F(Tasks, LoglikelihoodMatchesIndependentForward) {
  const Model& m = stories();
  const Tokenizer& tok = stories_tok();
  std::vector<int> ctx, cont;
  encode_pair(tok, "Once upon a time, there was a little", " girl named Lily", ctx, cont);
  ASSERT_GT(cont.size(), 1u);
  for (int L : {0, 6, 9}) {  // 0 = the model's 512: no truncation; 6 and 9 cut the context from the left
    const int eff = L ? L : m.cfg.max_seq_len;
    const RefLL ref = reference_ll(m, ctx, cont, eff);
    const LoglikResult got = loglikelihood_pair(m, ctx, cont, L);
    EXPECT_NEAR(got.logprob, ref.logprob, tol::scaled(tol::kLoglikVsReferenceRel, ref.logprob)) << "L=" << L;
    EXPECT_EQ(got.is_greedy, ref.greedy);
    EXPECT_EQ(got.first_rank, ref.first_rank);
    EXPECT_EQ(got.tokens, int(cont.size()));
    EXPECT_LT(got.logprob, 0.0);
  }
  // Truncation changes the answer (the reference is not trivially the same computation).
  EXPECT_GT(std::fabs(loglikelihood_pair(m, ctx, cont, 6).logprob - loglikelihood_pair(m, ctx, cont, 0).logprob), 1e-3);
  // A continuation longer than the max length is refused.
  EXPECT_THROW(loglikelihood_pair(m, ctx, cont, int(cont.size()) - 1), InputError);
}

TEST_F(Tasks, SharedContextCacheEqualsSeparateForwards) {
  // stories260K (llama2.c, interleaved RoPE) and synthetic Qwen2 / OPT (learned positions, offset 2).
  const Tokenizer& tok = stories_tok();
  std::vector<std::unique_ptr<Model>> synth;
  for (Arch a : {Arch::Qwen2, Arch::Opt}) {
    DecoderConfig c = test::small_config(a, 32, 64, 8);
    c.vocab_size = 512;
    synth.push_back(make_synthetic_model(c, 7));
  }
  std::vector<const Model*> models = {&stories(), synth[0].get(), synth[1].get()};
  for (const Model* m : models) {
    std::vector<int> ctx, k;
    std::vector<std::vector<int>> conts;
    for (const char* c : {" girl", " big red ball", " dog who liked to run"}) {
      encode_pair(tok, "Once upon a time, there was a", c, ctx, k);
      conts.push_back(k);
    }
    const auto shared = loglikelihood_choices(*m, ctx, conts, 0);
    ASSERT_EQ(shared.size(), conts.size());
    for (size_t i = 0; i < conts.size(); ++i) {
      const RefLL ref = reference_ll(*m, ctx, conts[i], m->cfg.max_seq_len);
      EXPECT_NEAR(shared[i].logprob, ref.logprob, tol::kLogprobCachedVsFresh) << m->cfg.source_format << " choice " << i;
      EXPECT_EQ(shared[i].first_rank, ref.first_rank);
    }
    // With truncation (max length 10) it falls back to one forward per choice, still exact.
    const auto cut = loglikelihood_choices(*m, ctx, conts, 10);
    for (size_t i = 0; i < conts.size(); ++i)
      EXPECT_NEAR(cut[i].logprob, reference_ll(*m, ctx, conts[i], 10).logprob, tol::kLogprobSameForward);
  }
}

TEST_F(Tasks, BpeTokenizerWithoutBosUsesEosForEmptyContext) {
  auto tok = load_tokenizer(test::source("tests/data/qwen2_tiny_tokenizer.json"));
  ASSERT_EQ(tok->bos_id(), -1);
  DecoderConfig c = test::small_config(Arch::Qwen2, 32, 64, 8);
  c.vocab_size = tok->vocab_size();
  auto m = make_synthetic_model(c, 3);
  std::vector<int> ctx, cont;
  encode_pair(*tok, "", "hello world", ctx, cont);
  EXPECT_EQ(ctx, std::vector<int>{tok->eos_id()});
  encode_pair(*tok, "the cat sat on", " the mat", ctx, cont);
  EXPECT_EQ(ctx, tok->encode("the cat sat on", false));  // no BOS added
  const RefLL ref = reference_ll(*m, ctx, cont, m->cfg.max_seq_len);
  EXPECT_NEAR(loglikelihood_pair(*m, ctx, cont, 0).logprob, ref.logprob, tol::kLogprobSameForward);
}

TEST_F(Tasks, GenerateUntilMatchesGreedyDecodingCutAtStop) {
  const Model& m = stories();
  const Tokenizer& tok = stories_tok();
  const std::vector<int> prompt = tok.encode("Once upon a time", true);
  GenerateOptions go;
  go.max_new_tokens = 40;
  const std::vector<int> ref_ids = generate_greedy(m, prompt, go);
  std::string ref;
  int prev = prompt.back();
  for (int id : ref_ids) {
    ref += tok.decode_token(prev, id);
    prev = id;
  }
  ASSERT_NE(ref.find('.'), std::string::npos) << ref;
  EXPECT_EQ(generate_until(m, tok, prompt, {"."}, 40, 0), ref.substr(0, ref.find('.')));
  EXPECT_EQ(generate_until(m, tok, prompt, {"\n\n"}, 40, 0), ref.substr(0, ref.find("\n\n")));
  // Stop at the earliest of several stop strings.
  const size_t comma = ref.find(','), dot = ref.find('.');
  EXPECT_EQ(generate_until(m, tok, prompt, {".", ","}, 40, 0), ref.substr(0, std::min(comma, dot)));
  // max_new bounds the output: 3 tokens.
  std::string three;
  prev = prompt.back();
  for (size_t i = 0; i < 3; ++i) {
    three += tok.decode_token(prev, ref_ids[i]);
    prev = ref_ids[i];
  }
  EXPECT_EQ(generate_until(m, tok, prompt, {"@@"}, 3, 0), three);
}

TEST_F(Tasks, NormalizeAnswerSquadStyle) {
  EXPECT_EQ(normalize_answer("The Cat!"), "cat");
  EXPECT_EQ(normalize_answer("  an  apple,  a day "), "apple day");
  EXPECT_EQ(normalize_answer("Theatre"), "theatre");  // articles only as whole words
  EXPECT_EQ(normalize_answer("U.S.A."), "usa");
  EXPECT_EQ(normalize_answer("14 December 1972 UTC"), "14 december 1972 utc");
  EXPECT_EQ(normalize_answer("the-end"), "theend");   // punctuation removed before articles
  EXPECT_EQ(normalize_answer("A"), "");
  EXPECT_EQ(normalize_answer("Bob's"), "bobs");
  EXPECT_EQ(normalize_answer("Zürich\tand  the Alps"), "zürich and alps");
}

TEST_F(Tasks, Gsm8kAnswerExtraction) {
  EXPECT_EQ(extract_gsm8k_number("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18"), "18");
  EXPECT_EQ(extract_gsm8k_number("#### 1,234"), "1234");
  EXPECT_EQ(extract_gsm8k_number("#### -7"), "-7");
  EXPECT_EQ(extract_gsm8k_number("First 3 apples, then 5 pears, so 8."), "8");  // flexible: the last number
  EXPECT_EQ(extract_gsm8k_number("It costs $1,200.50."), "1200.50");
  EXPECT_EQ(extract_gsm8k_number("The answer is 42"), "42");
  EXPECT_EQ(extract_gsm8k_number("no number here"), "");
  EXPECT_EQ(extract_gsm8k_number("..."), "");
}

TEST_F(Tasks, MeanStderrIsSampleStdOverSqrtN) {
  double m, se;
  mean_stderr({1, 0, 1, 1}, m, se);
  EXPECT_DOUBLE_EQ(m, 0.75);
  EXPECT_NEAR(se, 0.25, tol::kF64ClosedForm);  // s = sqrt((3*0.0625 + 0.5625)/3) = 0.5, / sqrt(4)
  mean_stderr({2, 4, 9}, m, se);
  EXPECT_DOUBLE_EQ(m, 5.0);
  EXPECT_NEAR(se, std::sqrt(13.0 / 3.0), tol::kF64ClosedForm);  // var = (9+1+16)/2 = 13
}

TEST_F(Tasks, LoadersOnTheRealFiles) {
  struct Want {
    const char* task;
    size_t n;
    int first_answer;
  };
  // Item counts from ../shared/data/SOURCES.md; first answers read from the files by hand.
  for (const Want& w : {Want{"arc_easy", 2376, 0}, Want{"arc_challenge", 1172, 2}, Want{"piqa", 1838, 0},
                        Want{"boolq", 3270, 0}, Want{"copa", 100, 1}, Want{"commonsenseqa", 1221, 0},
                        Want{"openbookqa", 500, 1}, Want{"mmlu", 14042, 1}, Want{"logiqa", 651, 0},
                        Want{"strategyqa", 2061, 1}}) {
    const Task t = shipped(w.task);
    EXPECT_EQ(t.items.size(), w.n) << w.task;
    EXPECT_EQ(t.items[0].type, ItemType::MC) << w.task;
    EXPECT_EQ(t.items[0].answer, w.first_answer) << w.task;
    for (const auto& it : t.items) ASSERT_EQ(it.choices.size(), it.choice_len.size()) << w.task;
  }
  const Task arc = shipped("arc_easy");
  EXPECT_EQ(arc.items[0].context,
            "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:");
  EXPECT_EQ(arc.items[0].choices[0], " Sunlight is the source of energy for nearly all ecosystems.");
  EXPECT_EQ(arc.items[0].choice_len[0], 59.0);  // lm-eval: len(choice) without the delimiter
  const Task copa = shipped("copa");
  EXPECT_EQ(copa.items[0].context, "The man turned on the faucet therefore");
  EXPECT_EQ(copa.items[0].choices[1], " water flowed from the spout.");
  const Task mmlu = shipped("mmlu");
  EXPECT_EQ(mmlu.fewshot_pool.size(), 285u);
  EXPECT_EQ(mmlu.items[0].subset, "abstract_algebra");
  EXPECT_EQ(mmlu.items[0].choices, (std::vector<std::string>{" A", " B", " C", " D"}));
  EXPECT_EQ(mmlu.items[0].description,
            "The following are multiple choice questions (with answers) about abstract algebra.\n\n");
  const Task logiqa = shipped("logiqa");
  EXPECT_EQ(logiqa.fewshot_pool.size(), 651u);
  EXPECT_EQ(shipped("strategyqa").fewshot_pool.size(), 229u);

  const Task lama = shipped("lama");
  EXPECT_EQ(lama.items.size(), 28409u);
  EXPECT_EQ(lama.items[0].type, ItemType::Cloze);
  EXPECT_EQ(lama.items[0].context, "Peter F. Martin (born");
  EXPECT_EQ(lama.items[0].choices, std::vector<std::string>{" 1941"});
  const Task nq = shipped("nq_open");
  EXPECT_EQ(nq.items.size(), 3610u);
  EXPECT_EQ(nq.items[0].context, "Q: when was the last time anyone was on the moon?\nA:");
  EXPECT_EQ(nq.items[0].answers, (std::vector<std::string>{"14 December 1972 UTC", "December 1972"}));
  EXPECT_EQ(nq.items[0].target, " 14 December 1972 UTC");
  const Task gsm = shipped("gsm8k");
  EXPECT_EQ(gsm.items.size(), 1319u);
  EXPECT_EQ(gsm.items[0].answers, std::vector<std::string>{"18"});
  EXPECT_EQ(gsm.items[0].type, ItemType::Gen);
}

TEST_F(Tasks, FewshotPromptsAreSeededAndExcludeTheItem) {
  const Task arc = shipped("arc_easy");
  EXPECT_EQ(fewshot_prompt(arc, 5, 0, 1234), arc.items[5].context);
  const std::string p = fewshot_prompt(arc, 5, 3, 1234);
  EXPECT_EQ(p, fewshot_prompt(arc, 5, 3, 1234));
  EXPECT_NE(p, fewshot_prompt(arc, 5, 3, 99));
  ASSERT_TRUE(p.ends_with("\n\n" + arc.items[5].context));
  // Three examples (each "Question: ... Answer: <gold>\n\n"), never the item itself.
  size_t n = 0;
  for (size_t i = 0; i < arc.items.size(); ++i) {
    const std::string ex = arc.items[i].context + arc.items[i].target + "\n\n";
    if (p.find(ex) != std::string::npos) {
      ++n;
      EXPECT_NE(i, 5u);
    }
  }
  EXPECT_EQ(n, 3u);
  // MMLU: the description once, then examples from the same subject's dev file.
  const Task mmlu = shipped("mmlu");
  const size_t idx = 200;  // anatomy (abstract_algebra has 100 test questions)
  const std::string q = fewshot_prompt(mmlu, idx, 5, 1234);
  ASSERT_TRUE(q.starts_with(mmlu.items[idx].description));
  size_t same = 0;
  for (const auto& ex : mmlu.fewshot_pool)
    if (q.find(ex.context + ex.target) != std::string::npos) {
      EXPECT_EQ(ex.subset, mmlu.items[idx].subset);
      ++same;
    }
  EXPECT_EQ(same, 5u);
}

TEST_F(Tasks, NativeScoringEqualsHandComputedArgmax) {
  const TaskSpec spec = load_task_spec(test::source("tests/data/tasks_native/native_mc.yaml"), "/nonexistent");
  const Task t = load_task(spec);
  TaskOptions o;
  const TaskResult r = score_task(stories(), stories_tok(), t, o);
  ASSERT_EQ(r.items.size(), t.items.size());
  std::vector<double> acc, accn;
  double chance = 0;
  for (size_t i = 0; i < t.items.size(); ++i) {
    const TaskItem& it = t.items[i];
    int best = 0, best_n = 0;
    std::vector<double> ll;
    for (const auto& c : it.choices) {
      std::vector<int> ce, ke;
      encode_pair(stories_tok(), it.context, c, ce, ke);
      ll.push_back(reference_ll(stories(), ce, ke, 512).logprob);
    }
    for (size_t k = 0; k < ll.size(); ++k) {
      EXPECT_NEAR(r.items[i].logprobs[k], ll[k], tol::kLogprobCachedVsFresh);
      if (ll[k] > ll[size_t(best)]) best = int(k);
      if (ll[k] / double(it.choices[k].size()) > ll[size_t(best_n)] / double(it.choices[size_t(best_n)].size()))
        best_n = int(k);
    }
    acc.push_back(best == it.answer);
    accn.push_back(best_n == it.answer);
    chance += 1.0 / double(it.choices.size());
  }
  double m, se;
  mean_stderr(acc, m, se);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc").value, m);
  mean_stderr(accn, m, se);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc_norm").value, m);
  EXPECT_NEAR(r.chance, chance / double(t.items.size()), tol::kF64ClosedForm);
  EXPECT_EQ(r.primary_metric, "acc");
  EXPECT_EQ(r.type, "mc");
}

TEST_F(Tasks, NativeClozeAndGen) {
  TaskOptions o;
  const TaskResult c =
      score_task(stories(), stories_tok(), load_task(load_task_spec(test::source("tests/data/tasks_native/native_cloze.yaml"), "")), o);
  EXPECT_EQ(c.type, "cloze");
  EXPECT_EQ(c.n_items, 3);
  // First item: " girl" after "Once upon a time, there was a little" (the model's greedy choice).
  std::vector<int> ce, ke;
  encode_pair(stories_tok(), "Once upon a time, there was a little", " girl", ce, ke);
  const RefLL ref = reference_ll(stories(), ce, ke, 512);
  EXPECT_TRUE(ref.greedy);
  EXPECT_NEAR(c.items[0].logprobs[0], ref.logprob, tol::kLogprobCachedVsFresh);
  EXPECT_EQ(c.items[0].metrics.at("acc"), 1.0);
  EXPECT_DOUBLE_EQ(c.items[0].metrics.at("mrr"), 1.0 / ref.first_rank);
  EXPECT_EQ(c.items[1].metrics.at("acc"), 0.0);  // " Paris" is not what a TinyStories model says

  const TaskResult g =
      score_task(stories(), stories_tok(), load_task(load_task_spec(test::source("tests/data/tasks_native/native_gen.yaml"), "")), o);
  EXPECT_EQ(g.type, "gen");
  EXPECT_EQ(g.primary_metric, "em");
  EXPECT_EQ(g.items[0].generated, generate_until(stories(), stories_tok(),
                                                 stories_tok().encode("Once upon a time, there was a little", true),
                                                 {"\n"}, 32, 0));
  EXPECT_EQ(g.metrics.at("em").value, 0.0);
}

TEST_F(Tasks, LimitPerSubsetAndPlainLimit) {
  TaskOptions o;
  o.limit = 2;
  // LAMA limited per relation: keep the facts of three relations (31 in the file) to stay quick.
  Task lama = shipped("lama");
  std::set<std::string> subsets;
  for (const auto& it : lama.items) subsets.insert(it.subset);
  EXPECT_EQ(subsets.size(), 31u);  // 28 T-REx relations + 3 Google-RE present in the data
  std::vector<TaskItem> kept;
  for (const auto& it : lama.items)
    if (it.subset == "P19" || it.subset == "P20" || it.subset == "/people/person/date_of_birth") kept.push_back(it);
  lama.items = kept;
  const TaskResult r = score_task(stories(), stories_tok(), lama, o);
  EXPECT_EQ(r.n_items, 6);  // 2 per relation
  EXPECT_EQ(r.items[0].id, kept[0].id);
  EXPECT_EQ(r.primary_metric, "acc");
  EXPECT_EQ(r.chance, 0.0);
  o.limit = 3;
  Task copa = shipped("copa");
  const TaskResult c = score_task(stories(), stories_tok(), copa, o);
  EXPECT_EQ(c.n_items, 3);
  EXPECT_EQ(c.n_available, 100);
  EXPECT_EQ(c.items[2].id, copa.items[2].id);  // the first N in file order
}

TEST_F(Tasks, YamlErrorsNameTheFileAndKey) {
  const std::string d = test::tmpdir("tasks_yaml");
  write_file(d, "p.jsonl", "{\"type\": \"cloze\", \"context\": \"a\", \"answer\": \" b\"}\n");
  auto expect_msg = [&](const std::string& yaml, const std::string& want, bool config) {
    const std::string f = write_file(d, "t.yaml", yaml);
    try {
      load_task(load_task_spec(f, d));
      ADD_FAILURE() << "no error for: " << yaml;
    } catch (const ConfigError& e) {
      EXPECT_TRUE(config) << e.what();
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    } catch (const InputError& e) {
      EXPECT_FALSE(config) << e.what();
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  const std::string ok = "name: t\nstratum: memorization\ndataset: p.jsonl\nformat: native\n";
  EXPECT_NO_THROW(load_task(load_task_spec(write_file(d, "ok.yaml", ok), d)));
  expect_msg(ok + "colour: red\n", "unknown key 'colour'", true);
  expect_msg("name: t\nstratum: s\ndataset: p.jsonl\nformat: csv\n", "unknown format 'csv'", true);
  expect_msg("name: t\ndataset: p.jsonl\nformat: native\n", "missing key 'stratum'", true);
  expect_msg("name: t\nstratum: s\ndataset: nothere.jsonl\nformat: native\n", "dataset not found", false);
  expect_msg("name: t\nstratum: s\ndataset: x\nformat: arc\ntype: gen\n", "gives mc items", true);
  expect_msg(ok + "metric: em\ntype: cloze\n", "metric 'em'", true);
  expect_msg(ok + "template: \"{question}\"\n", "{question}", true);
  expect_msg(ok + "max_gen_tokens: many\n", "max_gen_tokens", true);
  expect_msg("name: [unclosed\n", "not valid YAML", true);
  write_file(d, "bad.jsonl", "{\"type\": \"mc\", \"context\": \"a\", \"choices\": [\" b\", \" c\"], \"answer\": 2}\n");
  expect_msg("name: t\nstratum: s\ndataset: bad.jsonl\nformat: native\n", "bad.jsonl:1: answer 2 is out of range", false);
  // --tasks resolution: names, directories, unknown names.
  const auto specs = resolve_task_specs("copa,boolq", test::source("jobs/tasks"), test::shared("data"));
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[1].name, "boolq");
  EXPECT_THROW(resolve_task_specs("copa,nosuchtask", test::source("jobs/tasks"), test::shared("data")), InputError);
  EXPECT_EQ(resolve_task_specs(test::source("tests/data/tasks_native"), "", "").size(), 3u);
}

TEST_F(Tasks, StrataAndArchiveGroup) {
  EvalResult r;
  auto task = [](const char* name, const char* stratum, double v, double se, double chance, long long n) {
    TaskResult t;
    t.name = name;
    t.stratum = stratum;
    t.primary_metric = "acc";
    t.metrics["acc"] = {v, se, n};
    t.chance = chance;
    t.n_items = n;
    return t;
  };
  r.tasks = {task("a", "application", 0.6, 0.03, 0.25, 100), task("b", "reasoning", 0.3, 0.05, 0.5, 50),
             task("c", "application", 0.4, 0.04, 0.5, 200)};
  r.tasks[1].primary_metric = "em";
  r.tasks[1].metrics["em"] = r.tasks[1].metrics["acc"];
  r.tasks[1].metrics.erase("acc");
  aggregate_strata(r);
  ASSERT_EQ(r.strata.size(), 2u);
  EXPECT_EQ(r.strata[0].name, "application");
  EXPECT_NEAR(r.strata[0].score, 0.5, tol::kF64ClosedForm);
  EXPECT_NEAR(r.strata[0].stderr_, std::sqrt(0.03 * 0.03 + 0.04 * 0.04) / 2, tol::kF64ClosedForm);
  EXPECT_NEAR(r.strata[0].chance, 0.375, tol::kF64ClosedForm);
  EXPECT_EQ(r.strata[0].n_items, 300);
  EXPECT_NEAR(r.strata[1].score, 0.3, tol::kF64ClosedForm);
  const archive::Group g = eval_to_group(r);
  const archive::Table& tt = g.tables.at("tasks");
  ASSERT_EQ(tt.nrows(), 3u);
  EXPECT_EQ(tt.rows[1], "b");
  EXPECT_DOUBLE_EQ(tt.at(1, size_t(tt.col("primary"))), 0.3);
  EXPECT_DOUBLE_EQ(tt.at(0, size_t(tt.col("chance"))), 0.25);
  EXPECT_TRUE(std::isnan(tt.at(1, size_t(tt.col("acc")))));  // task b has no acc
  EXPECT_DOUBLE_EQ(tt.at(1, size_t(tt.col("em_stderr"))), 0.05);
  const archive::Table& st = g.tables.at("strata");
  EXPECT_EQ(st.rows, (std::vector<std::string>{"application", "reasoning"}));
  EXPECT_NEAR(st.at(0, size_t(st.col("score"))), 0.5, tol::kF64ClosedForm);
  EXPECT_EQ(std::get<std::string>(g.groups.at("by_task").groups.at("c").attrs.at("stratum")), "application");
  EXPECT_EQ(std::get<std::string>(g.groups.at("by_stratum").groups.at("application").attrs.at("tasks")), "a,c");
  // Run-dependent wall times only under timings/ (archives compare equal outside it).
  EXPECT_EQ(tt.col("seconds"), -1);
  EXPECT_EQ(g.attrs.count("seconds"), 0u);
  EXPECT_TRUE(g.groups.at("timings").attrs.count("total_s"));
}
