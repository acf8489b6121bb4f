// src/cli/compress_common.cpp — shared plumbing of quantize/prune. defines: see compress_common.hpp
#include "cli/compress_common.hpp"

#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/load.hpp"

namespace lowbit::cli {

std::string cli_flag(const std::string& field) {
  for (const char* f : {"method", "bits", "group", "sparsity", "nm", "levels", "damp", "blocksize"})
    if (field == f) return "--" + field;
  return field + " (no flag)";
}

void CompressCli::add_options(po::options_description& desc) {
  desc.add_options()("model,m", po::value(&model)->default_value(default_model_path()), "checkpoint to compress")(
      "tokenizer,t", po::value(&tok), "tokenizer (default: beside the model)")(
      "calib", calib_required ? po::value(&cs.path)->required() : po::value(&cs.path),
      "calibration corpus (text, <|endoftext|>-separated, or .jsonl with \"text\")")(
      "nsamples", po::value(&cs.nsamples)->default_value(128), "calibration samples")(
      "seqlen", po::value(&cs.seqlen)->default_value(0), "tokens per sample (0 = min(2048, model context))")(
      "seed", po::value(&cs.seed)->default_value(0), "seed of the calibration draw")(
      "doc-sep", po::value(&cs.doc_sep)->default_value("<|endoftext|>"), "document separator in a text corpus")(
      "doc-sep-none", po::bool_switch(&doc_sep_none), "the corpus is one document (e.g. WikiText-2)")(
      "holdout", po::value(&cs.holdout_fraction)->default_value(0.1, "0.1"), "fraction of the corpus kept out for evaluation")(
      "holdout-windows", po::value(&holdout_windows)->default_value(32),
      "evaluate the held-out corpus part on at most this many context windows (0 = all)")(
      "out,o", po::value(&out)->required(), "output folder")(
      "eval-data", po::value(&eval_data), "also report perplexity on this text before and after");
}

namespace fs = std::filesystem;

namespace {
// An input file given on the command line: present and a regular file (not a folder or FIFO).
void check_input_file(const std::string& path, const char* what) {
  LB_INPUT_CHECK(file_exists(path), path, ": ", what, " not found");
  require_regular_file(path);
}
}  // namespace

void CompressCli::prepare() {
  if (doc_sep_none) cs.doc_sep = "";
  if (!out.empty()) check_out_folder();
  if (!eval_data.empty()) check_input_file(eval_data, "evaluation file");
  if (!cs.path.empty()) check_input_file(cs.path, "calibration corpus");
  if (tok.empty()) tok = find_tokenizer_for(model);
  m = load_model(model);
  t = load_tokenizer(tok);
  check_tokenizer_fits(*t, tok, *m);
  tok_export = prepare_tokenizer_export(tok);
  if (cs.seqlen == 0) cs.seqlen = std::min(2048, m->cfg.max_seq_len);
}

void CompressCli::check_out_folder() {
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  LB_INPUT_CHECK(!file_exists(out) || is_directory(out), "--out ", out, ": exists and is not a folder");
  const fs::path parent = fs::absolute(out).parent_path();
  LB_INPUT_CHECK(is_directory(parent.string()), "--out ", out, ": folder ", parent.string(), " does not exist");
}

void CompressCli::open_stage() {
  stage = out + ".partial." + std::to_string(::getpid());
  fs::remove_all(stage);
  LB_INPUT_CHECK(::mkdir(stage.c_str(), 0755) == 0, stage, ": cannot create the staging folder beside --out");
}

void CompressCli::commit() {
  if (!is_directory(out)) LB_INPUT_CHECK(::mkdir(out.c_str(), 0755) == 0, out, ": cannot create the output folder");
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(stage))
    if (e.path().filename() != "report.json") entries.push_back(e.path());
  if (file_exists(stage + "/report.json")) entries.push_back(stage + "/report.json");  // last: it marks a whole result
  for (const auto& from : entries) {
    const fs::path to = fs::path(out) / from.filename();
    fs::remove_all(to);
    fs::rename(from, to);
  }
  fs::remove(stage);
  stage.clear();
}

CompressCli::~CompressCli() {
  std::error_code ec;
  if (!stage.empty()) fs::remove_all(stage, ec);  // a failed run leaves nothing half-written
}

CalibSet CompressCli::calibration() const {
  if (cs.path.empty()) {
    CalibSet none;
    none.spec = cs;
    return none;
  }
  return make_calibration(*t, cs);
}

namespace {
nlohmann::json ppl_json(const PplResult& r) {
  return {{"nll_per_token", r.nll_per_token()}, {"ppl", r.ppl()}, {"tokens", r.tokens}};
}
}  // namespace

void CompressCli::eval_into(nlohmann::json& j, const std::string& key, const CalibSet& calib) {
  if (!eval_data.empty()) {
    auto docs = tokenize_documents(*t, read_file(eval_data), PplOptions{});
    j[key]["eval"] = ppl_json(perplexity(*m, docs, PplOptions{}));
  }
  if (calib.holdout.size() > 1) {
    PplOptions o;
    o.ctx = std::min(m->cfg.max_seq_len, 2048);
    o.max_windows = holdout_windows;
    j[key]["holdout"] = ppl_json(perplexity(*m, {calib.holdout}, o));
  }
}

std::vector<std::string> CompressCli::parse_formats(const std::string& format, const std::vector<std::string>& allowed,
                                                   const std::string& allowed_text) {
  std::vector<std::string> items;
  size_t a = 0;
  while (true) {
    const size_t b = format.find(',', a);
    const std::string item = format.substr(a, b == std::string::npos ? std::string::npos : b - a);
    if (item == "gguf") {
      want_gguf = true;
    } else {
      LB_INPUT_CHECK(std::find(allowed.begin(), allowed.end(), item) != allowed.end(), "--format '", format,
                     "' must be ", allowed_text, ", or gguf, or a comma list of them (e.g. ", allowed.front(), ",gguf)");
      items.push_back(item);
    }
    if (b == std::string::npos) break;
    a = b + 1;
  }
  return items;
}

void CompressCli::add_gguf_options(po::options_description& desc) {
  desc.add_options()("gguf-dtype", po::value(&gguf_dtype)->default_value("f16"),
                     "--format gguf: embeddings and unpacked weights as f16 | f32 | auto (f16 where exact); norms "
                     "are F32, quantised linears packed (Q4_0/Q4_1/Q8_0) when the grid fits a llama.cpp block");
}

void CompressCli::check_gguf() const {
  if (!want_gguf) return;
  GgufExportOptions o;
  o.dtype = parse_gguf_plain_dtype(gguf_dtype, "--gguf-dtype");
  o.tokenizer = tok;
  check_gguf_exportable(*m, o);
}

void CompressCli::write_gguf(const std::vector<BlockQuant>* quant, nlohmann::json& report) const {
  GgufExportOptions o;
  o.dtype = parse_gguf_plain_dtype(gguf_dtype, "--gguf-dtype");
  o.tokenizer = tok;
  GgufExportReport rep = write_gguf_model(*m, quant, stage + "/model.gguf", o);
  rep.path = out + "/model.gguf";  // where commit() puts it
  report["gguf"] = rep.to_json();
  log_info("gguf: wrote ", rep.summary());
}

void CompressCli::write_tokenizer(const std::string& dir) const { write_tokenizer_export(tok_export, dir); }

nlohmann::json CompressCli::tokenizer_json() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : tok_export.files) files.push_back(f.name);
  return {{"source", tok_export.source}, {"how", tok_export.how}, {"files", files}, {"missing", tok_export.missing}};
}

nlohmann::json CompressCli::calib_json(const CalibSet& c) const {
  if (c.samples.empty()) return nullptr;
  return {{"path", cs.path}, {"nsamples", cs.nsamples}, {"seqlen", cs.seqlen}, {"seed", cs.seed},
          {"tokens", c.tokens()}, {"corpus_tokens", c.corpus_tokens}, {"holdout_fraction", cs.holdout_fraction},
          {"available_tokens", c.available_tokens}, {"oversampled", c.oversampled()}};
}

nlohmann::json CompressCli::records_json(const CompressResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& rec : r.records) {
    nlohmann::json l = {{"layer", rec.layer}, {"linear", rec.linear}, {"out", rec.out}, {"in", rec.in},
                        {"out_error", rec.out_error}, {"rel_error", rec.rel_error}, {"seconds", rec.seconds}};
    if (rec.rtn_error >= 0) l["rtn_error"] = rec.rtn_error;
    if (rec.total > 0) {
      l["pruned"] = rec.pruned;
      l["total"] = rec.total;
      l["sparsity"] = double(rec.pruned) / double(rec.total);
    } else {
      l["damp_raises"] = rec.damp_raises;
      l["dead_columns"] = rec.dead_columns;
    }
    if (!rec.subbands.empty()) {
      nlohmann::json sb = nlohmann::json::array();
      for (const auto& s : rec.subbands)
        sb.push_back({{"name", s.name}, {"rows", s.rows}, {"cols", s.cols}, {"total", s.total}, {"pruned", s.pruned},
                      {"energy", s.energy}, {"energy_kept", s.energy_kept}});
      l["subbands"] = sb;
    }
    layers.push_back(l);
  }
  return layers;
}

}  // namespace lowbit::cli
