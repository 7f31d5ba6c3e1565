// Redis Cluster key -> slot: CRC16-XMODEM (polynomial 0x1021, initial value 0, no reflection) of
// the key's hash tag, or of the whole key when it has none, modulo 16384.
#include <array>
#include <cstdint>
#include <string_view>

#include "redis/redis_client.hpp"

namespace presence::redis {
namespace {

constexpr std::array<std::uint16_t, 256> make_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                 : static_cast<std::uint16_t>(crc << 1);
        }
        table[i] = crc;
    }
    return table;
}

constexpr auto kTable = make_table();

std::uint16_t crc16(std::string_view data) {
    std::uint16_t crc = 0;
    for (unsigned char c : data) {
        crc = static_cast<std::uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
    }
    return crc;
}

static_assert(make_table()[1] == 0x1021);

}  // namespace

std::uint16_t key_slot(std::string_view key) {
    // The hash tag is what lies between the first '{' and the first '}' after it, when that is
    // not empty; keys sharing a tag share a slot.
    const auto open = key.find('{');
    if (open != std::string_view::npos) {
        const auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<std::uint16_t>(crc16(key) & 16383);
}

}  // namespace presence::redis
