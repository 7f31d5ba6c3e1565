// Fuzz target over presence-host's settings file (host-stub/config_file): no crash; every key
// accepted is one key_problem() accepts, no value holds a newline; what was accepted,
// written back as "key=value" lines, parses to the same settings; a refusal names a line.
// The first line is also given as a command-line `key=value` and every key read as a bool.
#include <cstdint>
#include <string>
#include <string_view>

#include "config_file.hpp"
#include "fake_host.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using presence_fuzz::require;
    using presence_host::ConfigFile;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string error;
    auto config = ConfigFile::parse(text, error);
    if (!config) {
        require(error.rfind("line ", 0) == 0, "refusal does not name a line");
        return 0;
    }
    std::string written;
    for (const auto& [key, value] : config->all()) {
        require(presence_host::key_problem(key).empty(), "accepted a key key_problem refuses");
        require(value.find('\n') == std::string::npos, "a value with a line break");
        written += key + "=" + value + "\n";  // "k = #v" would make #v a comment
        bool flag = false;
        std::string why;
        (void)config->get_bool(key, false, flag, why);
    }
    std::string again_error;
    const auto again = ConfigFile::parse(written, again_error);
    if (!again) std::fprintf(stderr, "%s\n---\n%s", again_error.c_str(), written.c_str());
    require(again.has_value(), "accepted settings written back do not parse");
    require(again->all() == config->all(), "accepted settings written back read differently");
    const std::string_view first = text.substr(0, text.find('\n'));
    std::string why;
    (void)config->set_from_argument(first, why);
    return 0;
}
