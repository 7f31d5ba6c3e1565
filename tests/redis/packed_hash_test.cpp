// The packed user hash (MessagePack array of strings) that the batched put script answers and
// writes into feed entries: every string form Redis' cmsgpack writes is read, and truncated,
// odd or random bytes are refused without crashing or reading past the end.
#include "redis/packed_hash.hpp"

#include <random>
#include <string>
#include <vector>

// Last: CppUTest redefines `new` for leak detection, which breaks standard headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence::redis;

namespace {

// MessagePack as cmsgpack writes it: fixstr below 32 bytes, then str8, str16, str32.
std::string str(const std::string& s) {
    std::string out;
    const auto n = s.size();
    if (n < 32) {
        out.push_back(static_cast<char>(0xa0 | n));
    } else if (n < 256) {
        out += {'\xd9', static_cast<char>(n)};
    } else if (n < 65536) {
        out += {'\xda', static_cast<char>(n >> 8), static_cast<char>(n & 0xff)};
    } else {
        out += {'\xdb', static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
                static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
    }
    return out + s;
}

std::string pack(const std::vector<std::string>& items) {
    std::string out;
    const auto n = items.size();
    if (n < 16) {
        out.push_back(static_cast<char>(0x90 | n));
    } else {
        out += {'\xdc', static_cast<char>(n >> 8), static_cast<char>(n & 0xff)};
    }
    for (const auto& s : items) out += str(s);
    return out;
}

}  // namespace

TEST_GROUP(PackedHash){};

TEST(PackedHash, EveryStringFormReadsAsTheFieldsSay) {
    const std::string message(300, 'm');    // str16
    const std::string visible = "ann bob";  // fixstr
    const std::string far(70000, 'x');      // str32, an unknown field: skipped
    std::vector<std::string> items = {
        "v", "17",    "d|A|5", "1",  "d|B|6",
        "0", "s",     "3",     "m",  message,
        "w", visible, "g",     "99", "gi",
        "1", "zz",    far,     "l",  std::string(40, '7')};  // str8, not a number
    UserHash h;
    CHECK(unpack_user_hash(pack(items), h));
    LONGS_EQUAL(17, h.version);
    LONGS_EQUAL(2, h.devices.size());
    CHECK(h.devices[0].idle);
    STRCMP_EQUAL("B", h.devices[1].instance.c_str());
    CHECK(h.has_record);
    STRCMP_EQUAL(message.c_str(), h.record.message->c_str());
    LONGS_EQUAL(2, h.record.visibility.size());
    LONGS_EQUAL(99, *h.gone_since);
    CHECK_FALSE(h.record.last_seen.has_value());  // the bad value drops that field only
    // bin8 (what some packers use for bytes) and an empty table packed as a map read too.
    const std::string bin(
        "\x92\xc4\x01v\xc4\x02"
        "12",
        8);
    CHECK(unpack_user_hash(bin, h));
    LONGS_EQUAL(12, h.version);
    CHECK(unpack_user_hash(std::string("\x80", 1), h));
    LONGS_EQUAL(0, h.version);
}

TEST(PackedHash, TruncatedOddOrTrailingBytesAreRefusedAndLeaveNothing) {
    const std::string good = pack({"v", "5", "d|A|1", "0", "m", std::string(40, 'x')});
    UserHash h;
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
        CHECK_FALSE(unpack_user_hash(good.substr(0, cut), h));
        LONGS_EQUAL(0, h.version);
        LONGS_EQUAL(0, h.devices.size());
    }
    CHECK(unpack_user_hash(good, h));
    CHECK_FALSE(unpack_user_hash(good + "x", h));             // bytes after the array
    CHECK_FALSE(unpack_user_hash(pack({"v", "5", "s"}), h));  // a field without its value
    CHECK_FALSE(unpack_user_hash(std::string("\xdd\xff\xff\xff\xff\xa1v", 7), h));  // lying count
    CHECK_FALSE(unpack_user_hash(std::string("\x92\x01\x02", 3), h));  // integers, not strings
    CHECK_FALSE(unpack_user_hash(std::string("\xa1v", 2), h));         // a string, not an array
    CHECK_FALSE(unpack_user_hash(std::string("\x92\xdb\xff\xff\xff\xff", 6), h));  // huge string
    CHECK_FALSE(unpack_user_hash("", h));
    LONGS_EQUAL(0, h.version);
}

TEST(PackedHash, RandomBytesNeverCrashTheReader) {
    std::mt19937 rng(20261206);
    const std::string good = pack({"v", "5", "d|A|1", "0", "s", "2", "w", "a b"});
    UserHash h;
    for (int i = 0; i < 50000; ++i) {
        std::string b = good;
        // A few random bytes changed, or a random length of random bytes.
        if (i % 2 == 0) {
            for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
                b[rng() % b.size()] = static_cast<char>(rng());
        } else {
            b.resize(rng() % 40);
            for (auto& c : b) c = static_cast<char>(rng());
        }
        if (!unpack_user_hash(b, h)) LONGS_EQUAL(0, h.version);
    }
}
