#include "config_file.hpp"

#include "listen_address.hpp"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using presence_host::ConfigFile;

TEST_GROUP(ConfigFile){};

TEST(ConfigFile, ReadsKeyValueLinesAndSkipsComments) {
    std::string error;
    auto config = ConfigFile::parse(
        "# settings\n\n  host.listen = 127.0.0.1:0  \npresence.offline_grace_s=3 # grace\n"
        "presence.db_url =\n",
        error);
    CHECK_TRUE(config.has_value());
    STRCMP_EQUAL("127.0.0.1:0", config->find("host.listen")->c_str());
    STRCMP_EQUAL("3", config->find("presence.offline_grace_s")->c_str());
    STRCMP_EQUAL("", config->find("presence.db_url")->c_str());
    CHECK_TRUE(config->find("presence.missing") == nullptr);
}

TEST(ConfigFile, KeepsHashInsideValue) {
    std::string error;
    auto config = ConfigFile::parse("presence.db_url = mariadb://u:p#w@h:3306/db\n", error);
    CHECK_TRUE(config.has_value());
    STRCMP_EQUAL("mariadb://u:p#w@h:3306/db", config->find("presence.db_url")->c_str());
}

TEST(ConfigFile, LineWithoutEqualsIsAnErrorWithItsLineNumber) {
    std::string error;
    auto config = ConfigFile::parse("host.listen = 127.0.0.1:1\n# c\nhost.plugin\n", error);
    CHECK_FALSE(config.has_value());
    STRCMP_CONTAINS("line 3", error.c_str());
}

TEST(ConfigFile, KeyOutsideHostAndPresenceIsAnError) {
    std::string error;
    CHECK_FALSE(ConfigFile::parse("listen = 1\n", error).has_value());
    STRCMP_CONTAINS("line 1", error.c_str());
}

TEST(ConfigFile, UnknownHostKeyIsAnError) {
    std::string error;
    CHECK_FALSE(ConfigFile::parse("\nhost.lisen = 1\n", error).has_value());
    STRCMP_CONTAINS("line 2", error.c_str());
    STRCMP_CONTAINS("host.lisen", error.c_str());
}

TEST(ConfigFile, DuplicateKeyIsAnError) {
    std::string error;
    CHECK_FALSE(ConfigFile::parse("presence.a = 1\npresence.a = 2\n", error).has_value());
    STRCMP_CONTAINS("line 2", error.c_str());
}

TEST(ConfigFile, EmptyKeyIsAnError) {
    std::string error;
    CHECK_FALSE(ConfigFile::parse(" = 1\n", error).has_value());
}

TEST(ConfigFile, PresenceKeysPassThroughUnchecked) {
    std::string error;
    auto config = ConfigFile::parse("presence.anything_at_all = x y z\n", error);
    CHECK_TRUE(config.has_value());
    STRCMP_EQUAL("x y z", config->find("presence.anything_at_all")->c_str());
}

TEST(ConfigFile, SetArgumentOverridesFile) {
    std::string error;
    auto config = ConfigFile::parse("host.listen = 127.0.0.1:1\n", error);
    CHECK_TRUE(config->set_from_argument("host.listen=[::1]:0", error));
    STRCMP_EQUAL("[::1]:0", config->find("host.listen")->c_str());
    CHECK_FALSE(config->set_from_argument("no_equals", error));
    CHECK_FALSE(config->set_from_argument("bogus.key=1", error));
}

TEST(ConfigFile, ReusePortIsAKnownHostKey) {
    std::string error;
    auto config = ConfigFile::parse("host.reuse_port = true\n", error);
    CHECK_TRUE_TEXT(config.has_value(), error.c_str());
    STRCMP_EQUAL("true", config->find("host.reuse_port")->c_str());
    CHECK_TRUE(config->set_from_argument("host.reuse_port=false", error));
    CHECK_TRUE(presence_host::is_known_host_key("host.reuse_port"));
    CHECK_FALSE(presence_host::is_known_host_key("host.reuseport"));
}

TEST(ConfigFile, BooleanKeyReadsTrueFalseOrItsDefault) {
    std::string error;
    auto config = ConfigFile::parse("host.reuse_port = true\nhost.demo = false\n", error);
    CHECK_TRUE(config.has_value());
    bool value = false;
    CHECK_TRUE(config->get_bool("host.reuse_port", false, value, error));
    CHECK_TRUE(value);
    CHECK_TRUE(config->get_bool("host.demo", true, value, error));
    CHECK_FALSE(value);
    ConfigFile empty;
    CHECK_TRUE(empty.get_bool("host.reuse_port", false, value, error));
    CHECK_FALSE(value);
    CHECK_TRUE(empty.get_bool("host.reuse_port", true, value, error));
    CHECK_TRUE(value);
}

TEST(ConfigFile, BooleanKeyWithANonsenseValueIsAnErrorNamingTheKey) {
    for (const char* text : {"maybe", "TRUE", "1", "yes", "on", ""}) {
        std::string error;
        auto config = ConfigFile::parse(std::string("host.reuse_port = ") + text + "\n", error);
        CHECK_TRUE(config.has_value());  // the file is well formed; the value is what is wrong
        bool value = true;
        CHECK_FALSE_TEXT(config->get_bool("host.reuse_port", false, value, error), text);
        STRCMP_CONTAINS("host.reuse_port", error.c_str());
        STRCMP_CONTAINS("true or false", error.c_str());
        STRCMP_CONTAINS((std::string("'") + text + "'").c_str(), error.c_str());
        CHECK_TRUE(value);  // untouched
    }
}

TEST(ConfigFile, MissingFileIsAnErrorNamingIt) {
    std::string error;
    CHECK_FALSE(ConfigFile::load("/nonexistent/presence.conf", error).has_value());
    STRCMP_CONTAINS("/nonexistent/presence.conf", error.c_str());
}

TEST_GROUP(ListenAddress){};

TEST(ListenAddress, AcceptsHostPortAndBracketedIpv6) {
    presence_host::ListenAddress address;
    std::string error;
    CHECK_TRUE(presence_host::parse_listen_address("127.0.0.1:8080", address, error));
    STRCMP_EQUAL("127.0.0.1", address.host.c_str());
    LONGS_EQUAL(8080, address.port);
    CHECK_FALSE(address.ipv6);
    CHECK_TRUE(presence_host::parse_listen_address("[::1]:0", address, error));
    STRCMP_EQUAL("::1", address.host.c_str());
    LONGS_EQUAL(0, address.port);
    CHECK_TRUE(address.ipv6);
}

TEST(ListenAddress, RefusesMalformed) {
    presence_host::ListenAddress address;
    std::string error;
    CHECK_FALSE(presence_host::parse_listen_address("127.0.0.1", address, error));
    CHECK_FALSE(presence_host::parse_listen_address("127.0.0.1:99999", address, error));
    CHECK_FALSE(presence_host::parse_listen_address("127.0.0.1:x", address, error));
    CHECK_FALSE(presence_host::parse_listen_address("::1:80", address, error));
    CHECK_FALSE(presence_host::parse_listen_address("[::1]80", address, error));
}
