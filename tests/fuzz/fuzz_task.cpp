// tests/fuzz/fuzz_task.cpp — libFuzzer target: arbitrary bytes as a task: a task YAML and, after a
// line "----", the JSONL file it names as ./data.jsonl.
// defines: LLVMFuzzerTestOneInput
//
// load_task_spec and load_task must either return a task or throw a user error naming the file and
// the key or line; no YAML-cpp or nlohmann::json exception may escape. Every item of an accepted
// task is well formed: a multiple-choice answer indexes its choices.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "lowbit/eval/tasks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [spec_text, jsonl] =
      lowbit::fuzz::split_input(std::string_view(reinterpret_cast<const char*>(data), size));
  lowbit::fuzz::write_scratch("data.jsonl", jsonl);
  const std::string yaml = lowbit::fuzz::write_scratch("task.yaml", spec_text);
  try {
    // The data root is the scratch folder too, so shipped-task formats read the fuzzed file.
    const lowbit::TaskSpec spec = lowbit::load_task_spec(yaml, lowbit::fuzz::scratch_dir());
    const lowbit::Task task = lowbit::load_task(spec);
    for (const auto& it : task.items)
      if (it.type == lowbit::ItemType::MC && (it.answer < 0 || size_t(it.answer) >= it.choices.size()))
        std::abort();
    for (const auto& it : task.items)
      if (it.type == lowbit::ItemType::MC && it.choice_len.size() != it.choices.size()) std::abort();
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
