// lowbit/io/corpus.cpp — text corpora into documents. defines: see corpus.hpp
#include "lowbit/io/corpus.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace lowbit {

std::vector<std::string> split_documents(const std::string& text, const std::string& sep) {
  std::vector<std::string> parts;
  if (sep.empty()) {
    parts.push_back(text);
  } else {
    size_t start = 0;
    while (true) {
      size_t p = text.find(sep, start);
      parts.push_back(text.substr(start, p == std::string::npos ? std::string::npos : p - start));
      if (p == std::string::npos) break;
      start = p + sep.size();
    }
  }
  std::vector<std::string> docs;
  for (auto& s : parts) {
    size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
    if (a == std::string::npos) continue;
    docs.push_back(s.substr(a, b - a + 1));
  }
  return docs;
}

std::vector<std::string> read_corpus_documents(const std::string& path, const std::string& doc_sep) {
  LB_INPUT_CHECK(file_exists(path), path, ": calibration corpus not found");
  std::string text = read_file(path);
  if (path.size() > 6 && path.substr(path.size() - 6) == ".jsonl") {
    std::vector<std::string> docs;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        LB_FAIL_INPUT(path, ":", n, ": not valid JSON: ", e.what());
      }
      LB_INPUT_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), path, ":", n,
                     ": expected an object with a string field \"text\"");
      docs.push_back(j["text"].get<std::string>());
    }
    return docs;
  }
  return split_documents(text, doc_sep);
}

}  // namespace lowbit
