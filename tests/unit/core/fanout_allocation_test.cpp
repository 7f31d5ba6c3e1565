// Fan-out allocates nothing per delivery once warm (STYLE: hot paths allocate nothing).
// Counts operator new through CppUTest's allocator hook.
#include <string>
#include <vector>

#include "core_harness.hpp"

// After the harness: CppUTest headers come last (see core_harness.hpp).
#include <CppUTest/TestMemoryAllocator.h>

using namespace presence::core;
using namespace presence::core::test;

namespace {

// Forwards to the real allocator under the same names (so frees match) and counts.
class CountingNewAllocator : public TestMemoryAllocator {
  public:
    explicit CountingNewAllocator(TestMemoryAllocator* real)
        : TestMemoryAllocator(real->name(), real->alloc_name(), real->free_name()), real_(real) {}
    char* alloc_memory(size_t size, const char* file, size_t line) override {
        ++count;
        return real_->alloc_memory(size, file, line);
    }
    void free_memory(char* memory, size_t size, const char* file, size_t line) override {
        real_->free_memory(memory, size, file, line);
    }
    std::size_t count = 0;

  private:
    TestMemoryAllocator* real_;
};

// Counts deliveries without storing them, so the sink itself allocates nothing.
class CountingSink : public CoreSink {
  public:
    void send_presence(const PresenceView&, std::span<const ConnId> c) override {
        deliveries += c.size();
    }
    void send_self(const SelfView&, std::span<const ConnId>) override {}
    void send_snapshot(ConnId, const SelfView&, std::span<const PresenceView>) override {}
    void close_connection(ConnId, std::uint16_t, std::string_view) override {}
    void presence_changed(const PresenceChange&) override {}
    std::size_t deliveries = 0;
};

}  // namespace

TEST_GROUP(FanOutAllocation) {
    CountingNewAllocator* counter = nullptr;
    TestMemoryAllocator* saved = nullptr;
    void setup() override {
        saved = getCurrentNewAllocator();
        counter = new CountingNewAllocator(saved);
    }
    void teardown() override {
        setCurrentNewAllocator(saved);
        delete counter;
    }
    void count_from_here() {
        counter->count = 0;
        setCurrentNewAllocator(counter);
    }
    std::size_t stop_counting() {
        setCurrentNewAllocator(saved);
        return counter->count;
    }
};

TEST(FanOutAllocation, CounterSeesAllocations) {
    count_from_here();
    auto* s = new std::string(200, 'x');  // proves the counter works, so the next test can fail
    const std::size_t n = stop_counting();
    delete s;
    CHECK(n >= 1);
}

TEST(FanOutAllocation, IdleFlipsToManyViewersAllocateNothing) {
    CountingSink sink;
    CoreConfig cfg;
    PresenceCore core(cfg, sink);
    std::vector<std::string> friends;
    for (int i = 0; i < 100; ++i) friends.push_back("friend_with_a_long_id_" + std::to_string(i));
    UserRecord r;
    r.user_id = "subject";
    r.message = "a message longer than any small-string buffer";
    core.load_user(r, 0);
    core.load_friends("subject", friends);
    const std::vector<std::string> back{"subject"};
    for (std::size_t i = 0; i < friends.size(); ++i) {
        UserRecord f;
        f.user_id = friends[i];
        core.load_user(f, 0);
        core.load_friends(friends[i], back);
        core.connect(1000 + i, friends[i], 0);
        core.connect(5000 + i, friends[i], 0);
    }
    core.connect(1, "subject", 0);
    core.heartbeat(1, true, 1);  // warm the scratch buffers
    core.heartbeat(1, false, 2);
    const std::size_t before = sink.deliveries;
    count_from_here();
    for (int i = 0; i < 50; ++i) core.heartbeat(1, i % 2 == 0, 10 + i);
    const std::size_t allocations = stop_counting();
    LONGS_EQUAL(50 * 200, sink.deliveries - before);  // every flip reached every device
    LONGS_EQUAL(0, allocations);
}
