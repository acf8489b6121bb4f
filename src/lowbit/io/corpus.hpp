// lowbit/io/corpus.hpp — a text corpus as documents: what perplexity evaluates and calibration samples.
// defines: lowbit::split_documents, read_corpus_documents
//
// Plain text is split into documents at `sep` (default "<|endoftext|>", the TinyStories
// convention; a file without it, or sep "", is one document, as in GPTQ's WikiText-2 evaluation);
// each document is trimmed of surrounding whitespace and empty ones are dropped. A .jsonl corpus
// holds one object with a string field "text" per line (blank lines skipped).
#pragma once

#include <string>
#include <vector>

namespace lowbit {

std::vector<std::string> split_documents(const std::string& text, const std::string& sep);
// The documents of the corpus file at `path` (.jsonl, else plain text split at `doc_sep`). Throws
// InputError naming the file (and line, for .jsonl) when it is missing or malformed.
std::vector<std::string> read_corpus_documents(const std::string& path, const std::string& doc_sep);

}  // namespace lowbit
