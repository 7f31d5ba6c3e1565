// A plain driver for fuzz_client_frame.cpp, so the fuzz target runs in every build (g++, no
// libFuzzer): each seed as is, then a fixed number of inputs made by mutating seeds with a
// seeded PRNG (reproducible: the seed is printed). Usage: fuzz_smoke [CORPUS_DIR] [N] [SEED]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run(const std::string& s) {
    return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Fragments that make mutations likely to reach deep parser paths instead of failing early.
const char* const kTokens[] = {
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "false",
    "-0",
    "1e999",
    "0.5",
    "\"type\":",
    "\"presence_update\"",
    "\"presence_query\"",
    "\"presence_heartbeat\"",
    "\"status\":\"dnd\"",
    "\"user_ids\":[\"a\",\"b\"]",
    "\"ref\":",
    "\"until\":",
    "\"message\":",
    "\\u0000",
    "\\ud800",
    "\\\"",
    "\xC3\xA9",
    "\xED\xA0\x80",
    "\xF4\x90\x80\x80",
    "%",
    "%2F",
    "/users/",
    "/visibility/",
    "\xFF",
};

std::string mutate(std::string s, const std::vector<std::string>& seeds, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
    const int rounds = 1 + static_cast<int>(rng() % 4);
    for (int r = 0; r < rounds; ++r) {
        switch (rng() % 7) {
            case 0:  // flip a bit
                if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
                break;
            case 1:  // random byte in
                s.insert(s.begin() + static_cast<long>(pick(s.size() + 1)),
                         static_cast<char>(rng() & 0xFF));
                break;
            case 2:  // cut a range
                if (!s.empty()) {
                    const std::size_t at = pick(s.size());
                    s.erase(at, 1 + pick(std::min<std::size_t>(16, s.size() - at)));
                }
                break;
            case 3:  // a token in
                s.insert(pick(s.size() + 1), kTokens[pick(std::size(kTokens))]);
                break;
            case 4:  // splice with another seed
                if (!seeds.empty()) {
                    const std::string& other = seeds[pick(seeds.size())];
                    s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
                }
                break;
            case 5:  // repeat a chunk (deep nesting, long arrays)
                if (!s.empty()) {
                    const std::size_t at = pick(s.size());
                    const std::string chunk = s.substr(at, 1 + pick(8));
                    for (int k = static_cast<int>(rng() % 64); k > 0; --k) s.insert(at, chunk);
                }
                break;
            default:  // truncate
                s.resize(pick(s.size() + 1));
        }
    }
    if (s.size() > 8192) s.resize(8192);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> seeds = {
        R"({"type":"presence_heartbeat","idle":true,"ref":"r"})",
        R"({"type":"presence_update","status":"away","message":"lunch","until":1700000000000})",
        R"({"type":"presence_query","user_ids":["b","c","b"],"ref":12})",
        R"({"status":"dnd","message":null})",
        R"({"user_ids":["x","y"]})",
        "",
    };
    if (argc > 1) {
        for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
            std::ifstream in(entry.path(), std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            seeds.push_back(text.str());
        }
    }
    const long iterations = argc > 2 ? std::atol(argv[2]) : 200000;
    const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20261129;
    std::printf("fuzz_smoke: %zu seeds, %ld mutations, seed %llu\n", seeds.size(), iterations,
                static_cast<unsigned long long>(seed));

    for (const auto& s : seeds) run(s);
    std::mt19937_64 rng(seed);
    for (long i = 0; i < iterations; ++i) {
        run(mutate(seeds[static_cast<std::size_t>(rng() % seeds.size())], seeds, rng));
    }
    std::printf("fuzz_smoke: ok\n");
    return 0;
}
