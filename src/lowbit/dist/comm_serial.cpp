// lowbit/dist/comm_serial.cpp — the one-rank communicator (no MPI). defines: make_serial
#include <chrono>

#include "lowbit/core/error.hpp"
#include "lowbit/dist/comm.hpp"

namespace lowbit::dist {

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class SerialComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "serial"; }
  void barrier() override {}
  void allreduce_sum(double*, size_t) override {}
  void allreduce_sum(float*, size_t) override {}
  void allreduce_max(double*, size_t) override {}
  void broadcast(void*, size_t, int root) override { LB_CHECK(root == 0, "broadcast root ", root, " of 1 rank"); }
  std::vector<std::vector<char>> allgather(const std::vector<char>& mine) override { return {mine}; }
  std::unique_ptr<Comm> split(int, int) override { return std::make_unique<SerialComm>(); }
};
}  // namespace

CollectiveTimer::CollectiveTimer(Comm& c) : c_(c), t0_(now_s()) {}
CollectiveTimer::~CollectiveTimer() {
  c_.coll_seconds_ += now_s() - t0_;
  ++c_.coll_calls_;
}

std::unique_ptr<Comm> make_serial() { return std::make_unique<SerialComm>(); }

}  // namespace lowbit::dist
