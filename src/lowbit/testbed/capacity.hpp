// lowbit/testbed/capacity.hpp — knowledge stored in a model, in bits (the "knowledge capacity"
// measure of Physics of Language Models 3.3, for single-token values).
// defines: lowbit::testbed::AttributeKnowledge, KnowledgeStored, measure_knowledge
//
// For each individual and attribute, the model reads the fact's context in every statement form
// the individual was trained with ("<s>Ada Novak was born in") and its next-token distribution,
// renormalised over the attribute's value tokens, gives p(true value). With values drawn uniformly,
// a code built from the model spends −log2 p bits where a code without it spends log2 |values|, so
//   bits stored = Σ_individuals (log2 |values| + mean_forms log2 p(true value))
// per attribute (floored at 0), plus the same for the employers' headquarters. It is a lower bound
// of the information the weights hold about the facts, and at most the world's knowledge bits.
#pragma once

#include <string>
#include <vector>

#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"
#include "lowbit/testbed/corpus.hpp"

namespace lowbit::testbed {

struct AttributeKnowledge {
  std::string name;
  int cardinality = 0;
  long long facts = 0;
  double bits_stored = 0;    // floored at 0
  double bits_total = 0;     // facts · log2 cardinality
  double accuracy = 0;       // argmax over all values (mean over facts and forms)
};

struct KnowledgeStored {
  std::vector<AttributeKnowledge> attributes;  // kAttributes order, then "headquarters"
  double bits_stored = 0, bits_total = 0;
};

KnowledgeStored measure_knowledge(const Model& m, const Tokenizer& tok, const Corpus& c);

}  // namespace lowbit::testbed
