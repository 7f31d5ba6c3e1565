// The core's small parts on their own: the viewer policy table, UTF-8 counting, the token
// bucket and the timer heap.
#include <string>

#include "core/timer_queue.hpp"
#include "core/token_bucket.hpp"
#include "core/utf8.hpp"
#include "core/viewer_policy.hpp"
#include "core_harness.hpp"

using namespace presence::core;

namespace {
SubjectFacts present_subject(Status chosen) {
    SubjectFacts f;
    f.user_id = "s";
    f.present = true;
    f.chosen = chosen;
    f.message = std::string_view("msg");
    f.last_seen = 100;
    f.last_seen_listed = 200;
    return f;
}
}  // namespace

TEST_GROUP(ViewerPolicy){};

TEST(ViewerPolicy, StrangerLearnsNothingWhateverTheState) {
    for (Status s : {Status::Online, Status::Away, Status::Dnd, Status::Invisible}) {
        auto v = visible_view(present_subject(s), Audience::Stranger);
        CHECK_STATUS(Status::Offline, v.status);
        CHECK_NULL_OPT(v.message);
        CHECK_NULL_OPT(v.last_seen);
    }
}

TEST(ViewerPolicy, AudienceFromRelation) {
    CHECK(audience_for(true, false, false) == Audience::Self);
    CHECK(audience_for(false, false, true) == Audience::Stranger);  // a list entry needs a friend
    CHECK(audience_for(false, true, false) == Audience::Friend);
    CHECK(audience_for(false, true, true) == Audience::ListedFriend);
}

TEST(ViewerPolicy, InvisibleTable) {
    const SubjectFacts f = present_subject(Status::Invisible);
    auto fr = visible_view(f, Audience::Friend);
    CHECK_STATUS(Status::Offline, fr.status);
    CHECK_NULL_OPT(fr.message);
    CHECK_MILLIS(100, fr.last_seen);
    for (Audience a : {Audience::ListedFriend, Audience::Self}) {
        auto v = visible_view(f, a);
        CHECK_STATUS(Status::Online, v.status);
        STRCMP_EQUAL("msg", std::string(*v.message).c_str());
        CHECK_NULL_OPT(v.last_seen);
    }
}

TEST(ViewerPolicy, NotPresentIsOfflineWithTheRightStamp) {
    SubjectFacts f = present_subject(Status::Dnd);
    f.present = false;
    auto fr = visible_view(f, Audience::Friend);
    CHECK_STATUS(Status::Offline, fr.status);
    CHECK_NULL_OPT(fr.message);
    CHECK_MILLIS(100, fr.last_seen);
    CHECK_MILLIS(200, visible_view(f, Audience::ListedFriend).last_seen);  // the later stamp
    f.last_seen_listed.reset();
    CHECK_MILLIS(100, visible_view(f, Audience::ListedFriend).last_seen);
    f.last_seen.reset();
    CHECK_NULL_OPT(visible_view(f, Audience::Friend).last_seen);  // never seen
}

TEST(ViewerPolicy, AutoAwayOnlyForChosenOnline) {
    SubjectFacts f = present_subject(Status::Online);
    f.all_idle = true;
    CHECK_STATUS(Status::Away, visible_view(f, Audience::Friend).status);
    f.chosen = Status::Dnd;
    CHECK_STATUS(Status::Dnd, visible_view(f, Audience::Friend).status);
    f.all_idle = false;
    f.chosen = Status::Online;
    CHECK_STATUS(Status::Online, visible_view(f, Audience::Friend).status);
}

TEST_GROUP(Utf8){};

TEST(Utf8, CountsCodePointsNotBytes) {
    LONGS_EQUAL(0, *utf8_code_points(""));
    LONGS_EQUAL(3, *utf8_code_points("abc"));
    LONGS_EQUAL(1, *utf8_code_points("\xC3\xA9"));
    LONGS_EQUAL(1, *utf8_code_points("\xE2\x82\xAC"));
    LONGS_EQUAL(1, *utf8_code_points("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last one
    LONGS_EQUAL(1, *utf8_code_points("\xEF\xBF\xBF"));      // U+FFFF
    LONGS_EQUAL(1, *utf8_code_points(std::string_view("\0", 1)));
}

TEST(Utf8, RejectsMalformed) {
    CHECK_FALSE(utf8_code_points("\xC1\xBF").has_value());          // overlong
    CHECK_FALSE(utf8_code_points("\xF0\x8F\xBF\xBF").has_value());  // overlong 4-byte
    CHECK_FALSE(utf8_code_points("\xED\xBF\xBF").has_value());      // surrogate U+DFFF
    CHECK_FALSE(utf8_code_points("\xE2\x28\xA1").has_value());      // bad continuation
    CHECK_FALSE(utf8_code_points("\xF8\x88\x80\x80\x80").has_value());
}

TEST_GROUP(TokenBucket){};

TEST(TokenBucket, BurstThenRefillAtRate) {
    TokenBucket b(3, 0);
    for (int i = 0; i < 3; ++i) CHECK(b.take(2.0, 3, 0));
    CHECK_FALSE(b.take(2.0, 3, 0));
    LONGLONGS_EQUAL(500, b.ms_until_token(2.0));
    CHECK_FALSE(b.take(2.0, 3, 499));
    CHECK(b.take(2.0, 3, 500));
    // A long pause refills up to the burst, not beyond.
    for (int i = 0; i < 3; ++i) CHECK(b.take(2.0, 3, 100'000));
    CHECK_FALSE(b.take(2.0, 3, 100'000));
}

TEST(TokenBucket, ZeroRateMeansUnlimited) {
    TokenBucket b(0, 0);
    for (int i = 0; i < 100; ++i) CHECK(b.take(0.0, 0, 0));
}

TEST_GROUP(TimerQueue){};

TEST(TimerQueue, PopsEarliestFirstAndOnlyWhenDue) {
    TimerQueue q;
    q.push({30, 3, 0, TimerKind::Grace});
    q.push({10, 1, 0, TimerKind::Until});
    q.push({20, 2, 0, TimerKind::Heartbeat});
    CHECK_FALSE(q.due(9));
    CHECK(q.due(10));
    LONGLONGS_EQUAL(1, q.pop().key);
    LONGLONGS_EQUAL(2, q.pop().key);
    CHECK_FALSE(q.due(29));
    LONGLONGS_EQUAL(3, q.pop().key);
    CHECK(q.empty());
    LONGLONGS_EQUAL(3, q.pops());
}
