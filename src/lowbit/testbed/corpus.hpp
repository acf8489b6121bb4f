// lowbit/testbed/corpus.hpp — renders a synthetic World into training text (biographies with
// many statement forms) and into held-out probe sets with known answers, one per stratum:
//   memorization  recall an attribute in a statement form seen in training with that individual;
//   application   the same fact in a form (statement or question) never seen with that individual
//                 (each form is seen in training with other individuals);
//   reasoning     composed facts for individuals whose compositions never appear in training:
//                 two hops (employer → headquarters city), arithmetic (age in 2020 = 2020 − birth
//                 year) and comparison (was A born before B? yes/no). Other individuals' compositions
//                 are in training, so the forms themselves are known.
// defines: lowbit::testbed::Probe, Corpus, make_corpus, write_corpus, CorpusFiles, kStrata,
//          fact_context, form_text
#pragma once

#include <array>
#include <string>
#include <vector>

#include "lowbit/testbed/world.hpp"

namespace lowbit::testbed {

inline constexpr std::array<const char*, 3> kStrata = {"memorization", "application", "reasoning"};
inline constexpr int kForms = 5;            // statement/question forms per attribute
inline constexpr const char* kDocSep = "<|endoftext|>";
inline constexpr int kAgeYear = 2020;

// One multiple-choice item in the task-harness format (JSON line: id, type "mc", context,
// choices, answer).
struct Probe {
  std::string id, context;
  std::vector<std::string> choices;  // each with its leading space, e.g. " Paris"
  int answer = 0;
  std::string kind;                  // attribute name, or "two_hop", "age", "comparison"
};

struct Corpus {
  World world;
  // Per individual and attribute (kAttributes order): the form indices used in training.
  std::vector<std::array<std::vector<int>, 5>> train_forms;
  std::vector<char> reasoning_train;  // 1: this individual's compositions are in the training text
  std::vector<std::string> documents;
  std::array<std::vector<Probe>, 3> probes;  // by kStrata order
  std::array<double, 3> chance{};            // expected accuracy of uniform guessing, per stratum
  long long train_words = 0;
};

Corpus make_corpus(const WorldConfig& cfg);

// The text of form `form` of attribute `a` for `name`, cut before the value: "Ada Novak was born in".
std::string fact_context(Attribute a, int form, const std::string& name);
// The full sentence with the value: "Ada Novak was born in Paris."
std::string form_text(Attribute a, int form, const std::string& name, const std::string& value);

struct CorpusFiles {
  std::string dir, train_text, tokenizer, world_json;
  std::array<std::string, 3> probe_files, task_yamls;
  int vocab_size = 0;
  long long train_tokens = 0;  // with one BOS per document
};

// Writes DIR/train.txt (documents separated by "<|endoftext|>" lines), DIR/tokenizer.json (see
// corpus_tokenizer.hpp), DIR/probes/<stratum>.jsonl, DIR/testbed_<stratum>.yaml (task files) and
// DIR/world.json (the population, knowledge bits, config). Checks that the tokenizer round-trips
// the training text and gives every probe choice as one token (InternalError otherwise).
CorpusFiles write_corpus(const Corpus& c, const std::string& dir);

}  // namespace lowbit::testbed
