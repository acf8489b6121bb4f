// tests/unit/test_dist.cpp — the canonical-tree reduction, the serial communicator and the
// serialisation used to exchange partials (the rank-count independence of whole runs is tested
// under a real mpirun by tests/mpi/*.sh).
#include <gtest/gtest.h>

#include <random>

#include "lowbit/compress/driver.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/dist/tree_reduce.hpp"
#include "tolerances.hpp"

using namespace lowbit;
using namespace lowbit::dist;

TEST(Dist, CanonicalCoverTilesTheRangeWithTreeNodes) {
  for (int n : {1, 2, 3, 7, 8, 13, 64, 100})
    for (int R : {1, 2, 3, 4, 5, 8}) {
      int expect = 0;
      for (int r = 0; r < R; ++r) {
        auto [a, b] = leaf_range(n, R, r);
        EXPECT_EQ(a, expect);
        expect = b;
        int pos = a;
        for (auto [lo, hi] : canonical_cover(n, a, b)) {
          EXPECT_EQ(lo, pos) << "n=" << n << " R=" << R;
          pos = hi;
        }
        EXPECT_EQ(pos, b);
      }
      EXPECT_EQ(expect, n);
    }
}

// Summing leaves of very different magnitude: the tree order gives the same bits for any split of
// the leaves into covers, which a plain left fold per rank would not.
TEST(Dist, TreeSumIsIndependentOfTheSplit) {
  std::mt19937_64 rng(7);
  std::vector<double> leaf(37);
  for (auto& v : leaf) v = std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng), int(rng() % 60) - 30);
  auto L = [&](int k) { return leaf[size_t(k)]; };
  auto M = [](double& a, const double& b) { a += b; };
  const double root = tree_fold<double>(0, 37, L, M);
  for (int R : {2, 3, 4, 7}) {
    std::map<std::pair<int, int>, double> nodes;
    for (int r = 0; r < R; ++r) {
      auto [a, b] = leaf_range(37, R, r);
      for (auto [lo, hi] : canonical_cover(37, a, b)) nodes[{lo, hi}] = tree_fold<double>(lo, hi, L, M);
    }
    std::function<double(int, int)> eval = [&](int lo, int hi) {
      if (auto it = nodes.find({lo, hi}); it != nodes.end()) return it->second;
      const int mid = lo + (hi - lo) / 2;
      return eval(lo, mid) + eval(mid, hi);
    };
    EXPECT_EQ(eval(0, 37), root) << R << " ranks";
  }
  double left = 0;
  for (double v : leaf) left += v;
  EXPECT_NEAR(left, root, tol::kSumOrderRel * std::abs(root) + tol::kF64TinyFloor);  // same sum, other rounding
}

TEST(Dist, SerialCommIsTheIdentity) {
  auto c = make_serial();
  EXPECT_EQ(c->rank(), 0);
  EXPECT_EQ(c->size(), 1);
  double x[2] = {1.5, -2};
  c->allreduce_sum(x, 2);
  EXPECT_EQ(x[0], 1.5);
  std::vector<int> v{1, 2, 3};
  c->broadcast_vector(v, 0);
  EXPECT_EQ(v.size(), 3u);
  auto all = c->allgather({'a', 'b'});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], std::vector<char>({'a', 'b'}));
  auto s = c->split(3, 0);
  EXPECT_EQ(s->size(), 1);
  EXPECT_THROW(make_world("tcp"), InputError);
}

TEST(Dist, ByteWriterRoundTrip) {
  ByteWriter w;
  w.put<int32_t>(-5);
  w.put_vec(std::vector<double>{1, 2.5});
  w.put_str("héllo");
  ByteReader r(w.buf);
  EXPECT_EQ(r.get<int32_t>(), -5);
  EXPECT_EQ(r.get_vec<double>(), std::vector<double>({1, 2.5}));
  EXPECT_EQ(r.get_str(), "héllo");
  EXPECT_TRUE(r.done());
  EXPECT_THROW(r.get<int64_t>(), InternalError);
}
