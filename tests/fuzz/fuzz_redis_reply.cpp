// Fuzz target over what Redis sends back (SPEC 9: no reply, however odd, can crash the host):
// the input is raw RESP bytes, read by the same reader a connection uses (hiredis with our
// Reply builder), and every reply goes through the link's readers: the change feed's entries,
// a user hash as fields and every string as a packed hash. No crash; the feed's last id only
// ever becomes a stream id; every event names a valid user and only other instances' entries
// become events.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "fake_host.hpp"
#include "redis/hiredis_glue.hpp"
#include "redis/link_event.hpp"
#include "redis/packed_hash.hpp"

namespace {

void visit_strings(const presence::redis::Reply& r, int depth) {
    if (depth > 8) return;
    presence::redis::UserHash h;
    if (r.type == presence::redis::Reply::Type::String &&
        !presence::redis::unpack_user_hash(r.str, h)) {
        presence_fuzz::require(h.version == 0 && h.devices.empty(), "a refused pack left data");
    }
    for (const auto& e : r.elements) visit_strings(e, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using presence_fuzz::require;
    namespace redis = presence::redis;
    std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redis::new_reply_reader(),
                                                                redisReaderFree);
    require(reader != nullptr, "no reader");
    if (redisReaderFeed(reader.get(), reinterpret_cast<const char*>(data), size) != REDIS_OK) {
        return 0;
    }
    std::string last = "0-0";
    for (int n = 0; n < 64; ++n) {
        void* raw = nullptr;
        if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK || raw == nullptr) break;
        const std::unique_ptr<redis::Reply> reply = redis::take_reply(raw);
        std::vector<redis::LinkEvent> out;
        redis::parse_feed_reply(*reply, "A", last, out);
        std::pair<std::uint64_t, std::uint64_t> id;
        require(last == "0-0" || redis::parse_stream_id(last, id), "last id is not a stream id");
        for (const auto& e : out) {
            require(e.kind == redis::LinkEvent::Kind::User ||
                        e.kind == redis::LinkEvent::Kind::Friendship,
                    "a feed entry became something else");
            require(
                e.kind != redis::LinkEvent::Kind::User || presence::core::is_valid_user_id(e.user),
                "an event for an invalid user id");
        }
        (void)redis::parse_user_hash(*reply);
        visit_strings(*reply, 0);
    }
    return 0;
}
