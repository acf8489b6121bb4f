// lowbit/archive/params.cpp — the compression-parameters record. defines: see params.hpp
#include "lowbit/archive/params.hpp"

#include "lowbit/archive/keys.hpp"

namespace lowbit::archive {

void write_params(Group& g, const CompressParams& p) {
  namespace k = keys::params;
  g.set(k::kMethod, p.method);
  if (p.quant) {
    g.set(k::kBits, p.bits);
    g.set(k::kGroup, p.group);
    g.set(k::kSym, p.sym);
  }
  if (p.prune) {
    g.set(k::kSparsity, p.sparsity);
    g.set(k::kNm, p.nm);
  }
  g.set(k::kCalibSamples, p.calib_samples);
  g.set(k::kCalibSeqlen, p.calib_seqlen);
  g.set(k::kCalibTokens, p.calib_tokens);
  g.set(k::kSeed, p.seed);
}

}  // namespace lowbit::archive
