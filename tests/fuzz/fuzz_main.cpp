// A plain driver for the fuzz targets, so each runs in every build (g++, no libFuzzer): each
// seed of CORPUS_DIR as is, then N inputs made by mutating seeds with a seeded PRNG
// (reproducible: the seed is printed), splicing in the words of CORPUS_DIR.dict (libFuzzer's
// dictionary format) when it exists. Usage: fuzz_<name> CORPUS_DIR [N] [SEED]
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

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The quoted value of each `name="value"` (or `"value"`) line; escapes \\, \" and \xNN.
std::vector<std::string> read_dictionary(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const auto open = line.find('"');
        const auto close = line.rfind('"');
        if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
        std::string word;
        for (std::size_t i = open + 1; i < close; ++i) {
            if (line[i] != '\\' || i + 1 >= close) {
                word += line[i];
            } else if (line[i + 1] == 'x' && i + 3 < close && hex_digit(line[i + 2]) >= 0 &&
                       hex_digit(line[i + 3]) >= 0) {
                word += static_cast<char>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3]));
                i += 3;
            } else {
                word += line[++i];
            }
        }
        words.push_back(word);
    }
    return words;
}

// Generic fragments, used with the target's dictionary words.
const char* const kBytes[] = {"\n", " ", "\"", "\\", "%", "\xC3\xA9", "\xED\xA0\x80", "\xFF", "\0"};

std::string mutate(std::string s, const std::vector<std::string>& seeds,
                   const std::vector<std::string>& words, std::mt19937_64& rng) {
    auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
    const int rounds = 1 + static_cast<int>(rng() % 4);
    for (int r = 0; r < rounds; ++r) {
        switch (rng() % 8) {
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
            case 3:  // a dictionary word in
                if (!words.empty()) s.insert(pick(s.size() + 1), words[pick(words.size())]);
                break;
            case 4:  // a generic fragment in
                s.insert(pick(s.size() + 1), kBytes[pick(std::size(kBytes))]);
                break;
            case 5:  // splice with another seed
                if (!seeds.empty()) {
                    const std::string& other = seeds[pick(seeds.size())];
                    s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
                }
                break;
            case 6:  // repeat a chunk (deep nesting, long arrays)
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
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [N] [SEED]\n", argv[0]);
        return 2;
    }
    const std::filesystem::path corpus = argv[1];
    std::vector<std::string> seeds = {""};
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
        if (entry.is_regular_file()) seeds.push_back(read_file(entry.path()));
    }
    std::vector<std::string> words;
    const std::filesystem::path dictionary = corpus.string() + ".dict";
    if (std::filesystem::exists(dictionary)) words = read_dictionary(read_file(dictionary));
    const long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
    const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20261129;
    std::printf("%s: %zu seeds, %zu dictionary words, %ld mutations, seed %llu\n", argv[0],
                seeds.size(), words.size(), iterations, static_cast<unsigned long long>(seed));

    for (const auto& s : seeds) run(s);
    std::mt19937_64 rng(seed);
    for (long i = 0; i < iterations; ++i) {
        run(mutate(seeds[static_cast<std::size_t>(rng() % seeds.size())], seeds, words, rng));
    }
    std::printf("%s: ok\n", argv[0]);
    return 0;
}
