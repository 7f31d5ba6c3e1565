// The journal's record format: one frame per accepted user choice, self-checking so that a
// frame torn by a crash (or damaged on disk) is recognised instead of replayed as garbage.
//
//   frame   = magic "PJR1" | u32 payload length | u32 CRC-32 of the payload | payload
//   payload = u64 seq | u8 chosen | u8 flags | u16 id length | id | u32 message length |
//             message | i64 until | i64 last_seen | i64 last_seen_listed |
//             u32 visibility count | (u8 length | id)...
// Integers are little-endian. flags: 1 message, 2 until, 4 last_seen, 8 last_seen_listed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/types.hpp"

namespace presence::store {

constexpr std::size_t kJournalHeaderBytes = 12;
constexpr std::uint32_t kJournalMaxPayload = 16u << 20;  // far above any valid record

// CRC-32 (IEEE 802.3, the zlib one) of `data`.
std::uint32_t journal_crc32(std::string_view data);

// Appends the frame of `record` (with its sequence number) to `out`.
void encode_journal_record(std::string& out, std::uint64_t seq, const core::UserRecord& record);

enum class JournalDecode {
    Ok,
    End,      // no bytes left: a clean end
    Torn,     // fewer bytes than the frame needs: a write cut short by a crash
    Corrupt,  // bad magic, impossible length, checksum mismatch or a malformed payload
};

// Decodes the frame at `data[*offset]`; on Ok advances *offset past it.
JournalDecode decode_journal_record(std::string_view data, std::size_t* offset, std::uint64_t* seq,
                                    core::UserRecord* record);

}  // namespace presence::store
