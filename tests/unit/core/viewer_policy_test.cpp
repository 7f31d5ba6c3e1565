// The viewer policy table on its own: what each audience sees of a subject's state.
#include "core/viewer_policy.hpp"

#include <string>

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
