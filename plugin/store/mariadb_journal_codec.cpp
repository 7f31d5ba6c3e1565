#include "store/mariadb_journal_codec.hpp"

#include <array>
#include <cstring>

namespace presence::store {
namespace {

constexpr std::uint32_t kMagic = 0x31524A50;  // "PJR1" read as little-endian

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr auto kCrcTable = make_crc_table();

template <typename T>
void put(std::string& out, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * i)));
    }
}

// Reads the payload; every read is bounds-checked, so a damaged frame with a good checksum
// (practically impossible, but cheap to refuse) cannot read past it.
struct Reader {
    std::string_view d;
    std::size_t at = 0;
    bool ok = true;
    template <typename T>
    T get() {
        if (d.size() - at < sizeof(T)) {
            ok = false;
            return T{};
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(d[at + i])) << (8 * i);
        }
        at += sizeof(T);
        return static_cast<T>(v);
    }
    std::string bytes(std::size_t n) {
        if (d.size() - at < n) {
            ok = false;
            return {};
        }
        std::string s(d.substr(at, n));
        at += n;
        return s;
    }
};

}  // namespace

std::uint32_t journal_crc32(std::string_view data) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (const char ch : data)
        c = kCrcTable[(c ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

void encode_journal_record(std::string& out, std::uint64_t seq, const core::UserRecord& r) {
    const std::size_t start = out.size();
    out.append(kJournalHeaderBytes, '\0');  // filled in once the payload is known
    put<std::uint64_t>(out, seq);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(r.chosen));
    const std::uint8_t flags = (r.message ? 1 : 0) | (r.until ? 2 : 0) | (r.last_seen ? 4 : 0) |
                               (r.last_seen_listed ? 8 : 0);
    put<std::uint8_t>(out, flags);
    put<std::uint16_t>(out, static_cast<std::uint16_t>(r.user_id.size()));
    out += r.user_id;
    const std::string_view message = r.message ? std::string_view(*r.message) : "";
    put<std::uint32_t>(out, static_cast<std::uint32_t>(message.size()));
    out += message;
    put<std::int64_t>(out, r.until.value_or(0));
    put<std::int64_t>(out, r.last_seen.value_or(0));
    put<std::int64_t>(out, r.last_seen_listed.value_or(0));
    put<std::uint32_t>(out, static_cast<std::uint32_t>(r.visibility.size()));
    for (const auto& v : r.visibility) {
        put<std::uint8_t>(out, static_cast<std::uint8_t>(v.size()));  // ids are 1..64 bytes
        out += v;
    }
    const std::string_view payload = std::string_view(out).substr(start + kJournalHeaderBytes);
    std::string header;
    put<std::uint32_t>(header, kMagic);
    put<std::uint32_t>(header, static_cast<std::uint32_t>(payload.size()));
    put<std::uint32_t>(header, journal_crc32(payload));
    std::memcpy(out.data() + start, header.data(), kJournalHeaderBytes);
}

JournalDecode decode_journal_record(std::string_view data, std::size_t* offset, std::uint64_t* seq,
                                    core::UserRecord* record) {
    if (*offset >= data.size()) return JournalDecode::End;
    if (data.size() - *offset < kJournalHeaderBytes) return JournalDecode::Torn;
    Reader h{data.substr(*offset, kJournalHeaderBytes)};
    const auto magic = h.get<std::uint32_t>();
    const auto len = h.get<std::uint32_t>();
    const auto crc = h.get<std::uint32_t>();
    if (magic != kMagic || len > kJournalMaxPayload) return JournalDecode::Corrupt;
    if (data.size() - *offset - kJournalHeaderBytes < len) return JournalDecode::Torn;
    const std::string_view payload = data.substr(*offset + kJournalHeaderBytes, len);
    if (journal_crc32(payload) != crc) return JournalDecode::Corrupt;

    Reader p{payload};
    core::UserRecord r;
    *seq = p.get<std::uint64_t>();
    const auto chosen = p.get<std::uint8_t>();
    const auto flags = p.get<std::uint8_t>();
    r.user_id = p.bytes(p.get<std::uint16_t>());
    std::string message = p.bytes(p.get<std::uint32_t>());
    const auto until = p.get<std::int64_t>();
    const auto last_seen = p.get<std::int64_t>();
    const auto listed = p.get<std::int64_t>();
    const auto n = p.get<std::uint32_t>();
    for (std::uint32_t i = 0; p.ok && i < n; ++i)
        r.visibility.push_back(p.bytes(p.get<std::uint8_t>()));
    if (!p.ok || p.at != payload.size() ||
        chosen > static_cast<std::uint8_t>(core::Status::Invisible) || r.user_id.empty() ||
        r.user_id.size() > 64) {
        return JournalDecode::Corrupt;
    }
    r.chosen = static_cast<core::Status>(chosen);
    if (flags & 1) r.message = std::move(message);
    if (flags & 2) r.until = until;
    if (flags & 4) r.last_seen = last_seen;
    if (flags & 8) r.last_seen_listed = listed;
    *record = std::move(r);
    *offset += kJournalHeaderBytes + len;
    return JournalDecode::Ok;
}

}  // namespace presence::store
