// lowbit/io/load.cpp — the load dispatcher (a path to the format's loader) and the model/tokenizer
// fit check. defines: see load.hpp
#include "lowbit/io/load.hpp"

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf_model.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/tokenizer.hpp"

namespace lowbit {

void check_tokenizer_fits(const Tokenizer& t, const std::string& tok_path, const Model& m) {
  LB_INPUT_CHECK(t.vocab_size() <= m.cfg.vocab_size, tok_path, ": the tokenizer has ", t.vocab_size(),
                 " tokens but the model ", m.path, " has a vocabulary of ", m.cfg.vocab_size,
                 " (embedding rows): they do not belong together");
}

std::unique_ptr<Model> load_model(const std::string& path) {
  if (is_directory(path)) return load_hf_model(path);
  LB_INPUT_CHECK(file_exists(path), path, ": model file not found");
  require_regular_file(path);  // a FIFO or device: one line, not a reader blocked forever
  if (is_gguf_path(path)) return load_gguf_model(path);
  return load_llama2c_model(path);
}

}  // namespace lowbit
