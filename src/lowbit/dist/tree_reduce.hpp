// lowbit/dist/tree_reduce.hpp — sums whose rounding does not depend on the number of ranks.
// defines: lowbit::dist::leaf_range, canonical_cover, tree_fold, tree_reduce, ByteWriter, ByteReader
//
// The n leaves (e.g. calibration micro-batches) are summed along one canonical binary tree:
// node [lo,hi) = node [lo,mid) ⊕ node [mid,hi), mid = lo + (hi−lo)/2. Rank r owns the contiguous
// leaves leaf_range(n, R, r) and computes the canonical nodes that exactly cover them (at most
// 2·log2 n nodes; memory for one partial per tree level). The nodes are all-gathered and every rank
// evaluates the root by the same recursion, reusing the gathered nodes. One rank computes the root
// by the same recursion, so 1, 2, 4 … ranks give bit-identical results.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/dist/comm.hpp"

namespace lowbit::dist {

// Leaves [first, last) of rank r when n leaves are split over R ranks (contiguous, balanced).
inline std::pair<int, int> leaf_range(int n, int R, int r) {
  return {int((long long)n * r / R), int((long long)n * (r + 1) / R)};
}

// The canonical nodes of the tree over [0, n) that exactly cover [a, b), left to right.
inline void canonical_cover(int lo, int hi, int a, int b, std::vector<std::pair<int, int>>& out) {
  if (b <= lo || hi <= a || lo >= hi) return;
  if (a <= lo && hi <= b) {
    out.emplace_back(lo, hi);
    return;
  }
  const int mid = lo + (hi - lo) / 2;
  canonical_cover(lo, mid, a, b, out);
  canonical_cover(mid, hi, a, b, out);
}
inline std::vector<std::pair<int, int>> canonical_cover(int n, int a, int b) {
  std::vector<std::pair<int, int>> out;
  canonical_cover(0, n, a, b, out);
  return out;
}

// Value of node [lo,hi) computed from leaves: leaf(k) → P, merge(P& into, const P& right).
template <class P, class Leaf, class Merge>
P tree_fold(int lo, int hi, Leaf&& leaf, Merge&& merge) {
  if (hi - lo == 1) return leaf(lo);
  const int mid = lo + (hi - lo) / 2;
  P left = tree_fold<P>(lo, mid, leaf, merge);
  P right = tree_fold<P>(mid, hi, leaf, merge);
  merge(left, right);
  return left;
}

// Plain binary packing for gathering partials (same machine type on every rank).
class ByteWriter {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const char* p = reinterpret_cast<const char*>(&v);
    buf.insert(buf.end(), p, p + sizeof(T));
  }
  template <class T>
  void put_vec(const std::vector<T>& v) {
    put<uint64_t>(v.size());
    const char* p = reinterpret_cast<const char*>(v.data());
    buf.insert(buf.end(), p, p + v.size() * sizeof(T));
  }
  void put_str(const std::string& s) { put_vec(std::vector<char>(s.begin(), s.end())); }
  std::vector<char> buf;
};
class ByteReader {
 public:
  explicit ByteReader(const std::vector<char>& b) : b_(b) {}
  template <class T>
  T get() {
    T v;
    LB_CHECK(pos_ + sizeof(T) <= b_.size(), "ByteReader: read past the end");
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_vec() {
    const auto n = size_t(get<uint64_t>());
    LB_CHECK(pos_ + n * sizeof(T) <= b_.size(), "ByteReader: vector past the end");
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), b_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  std::string get_str() {
    auto v = get_vec<char>();
    return std::string(v.begin(), v.end());
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  const std::vector<char>& b_;
  size_t pos_ = 0;
};

// The canonical-tree sum of leaves 0..n-1 over the ranks of `comm`; each rank computes only the
// leaves of leaf_range(n, size, rank). Returns the root on every rank. pack/unpack turn a partial
// into bytes and back. With n == 0 returns `empty`.
template <class P, class Leaf, class Merge, class Pack, class Unpack>
P tree_reduce(Comm& comm, int n, Leaf&& leaf, Merge&& merge, Pack&& pack, Unpack&& unpack, P empty = P{}) {
  if (n == 0) return empty;
  const auto [a, b] = leaf_range(n, comm.size(), comm.rank());
  std::vector<std::pair<int, int>> mine = canonical_cover(n, a, b);
  if (comm.size() == 1) return tree_fold<P>(0, n, leaf, merge);
  ByteWriter w;
  w.put<uint64_t>(mine.size());
  for (auto [lo, hi] : mine) {
    P node = tree_fold<P>(lo, hi, leaf, merge);
    w.put<int32_t>(lo);
    w.put<int32_t>(hi);
    pack(node, w);
  }
  const auto all = comm.allgather(w.buf);
  std::map<std::pair<int, int>, P> nodes;
  for (const auto& bytes : all) {
    ByteReader r(bytes);
    const auto k = r.get<uint64_t>();
    for (uint64_t i = 0; i < k; ++i) {
      const int lo = r.get<int32_t>(), hi = r.get<int32_t>();
      nodes.emplace(std::make_pair(lo, hi), unpack(r));
    }
  }
  std::function<P(int, int)> eval = [&](int lo, int hi) -> P {
    auto it = nodes.find({lo, hi});
    if (it != nodes.end()) return std::move(it->second);
    LB_CHECK(hi - lo > 1, "tree_reduce: leaf ", lo, " was computed by no rank");
    const int mid = lo + (hi - lo) / 2;
    P left = eval(lo, mid);
    P right = eval(mid, hi);
    merge(left, right);
    return left;
  };
  return eval(0, n);
}

}  // namespace lowbit::dist
