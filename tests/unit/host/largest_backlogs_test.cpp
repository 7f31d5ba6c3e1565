#include "largest_backlogs.hpp"

#include <string>
#include <utility>
#include <vector>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

namespace {

// A connection as the outbound budget sees it: a backlog, and whether it was cut.
struct FakeConn {
    const char* name;
    size_t queued;
    bool cut = false;
};

// What the budget does on a cut: the connection's backlog leaves the total.
struct FakeBudget {
    size_t used;
    size_t limit;
    std::string order;  // names of the cut connections, in order
    void run(std::vector<FakeConn>& conns) {
        std::vector<std::pair<size_t, FakeConn*>> backlogs;
        for (auto& c : conns) backlogs.emplace_back(c.queued, &c);
        cut_largest_backlogs(
            backlogs, [this] { return used > limit; },
            [this](FakeConn& c, size_t bytes) {
                CHECK_EQUAL(c.queued, bytes);
                c.cut = true;
                used -= bytes;
                order += c.name;
            });
    }
};

}  // namespace

TEST_GROUP(LargestBacklogs){};

// Past the budget, the largest backlogs go first, and only until the rest fits: the clients
// that keep up (small queues) are not touched.
TEST(LargestBacklogs, CutsTheLargestUntilTheRestFits) {
    std::vector<FakeConn> conns{{"a", 10}, {"b", 500}, {"c", 20}, {"d", 300}, {"e", 5}};
    FakeBudget budget{835, 100, ""};
    budget.run(conns);
    STRCMP_EQUAL("bd", budget.order.c_str());
    CHECK_EQUAL(35u, budget.used);
    CHECK_FALSE(conns[0].cut);
    CHECK_FALSE(conns[2].cut);
    CHECK_FALSE(conns[4].cut);
}

TEST(LargestBacklogs, WithinTheBudgetNobodyIsCut) {
    std::vector<FakeConn> conns{{"a", 10}, {"b", 50}};
    FakeBudget budget{60, 60, ""};
    budget.run(conns);
    STRCMP_EQUAL("", budget.order.c_str());
}

// Backlogs that cannot bring it under the limit (the rest is counted elsewhere) are all cut,
// and the loop ends when none is left.
TEST(LargestBacklogs, StopsWhenEveryBacklogIsCut) {
    std::vector<FakeConn> conns{{"a", 10}, {"b", 50}};
    FakeBudget budget{1000, 100, ""};
    budget.run(conns);
    STRCMP_EQUAL("ba", budget.order.c_str());
    CHECK_EQUAL(940u, budget.used);
}
