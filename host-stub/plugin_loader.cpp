#include "plugin_loader.hpp"

#include <dlfcn.h>

#include <cstddef>

namespace presence_host {

PluginLibrary::~PluginLibrary() {
    if (handle_) dlclose(handle_);
}

bool PluginLibrary::open(const std::string& path, std::string& error) {
    // RTLD_NODELETE: the plugin stays mapped until the process ends. The host unloads it only
    // on its way out, and the libraries the plugin pulls in (MariaDB Connector/C) keep one-time
    // global state that is freed by nobody; unmapped, LeakSanitizer reports it as leaked.
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!handle_) {
        const char* why = dlerror();
        error = "cannot load plugin '" + path + "': " + (why ? why : "unknown error");
        return false;
    }
    auto entry = reinterpret_cast<presence_entry_fn>(dlsym(handle_, PRESENCE_ENTRY_SYMBOL));
    if (!entry) {
        error = "plugin '" + path + "' has no symbol " PRESENCE_ENTRY_SYMBOL;
        return false;
    }
    char why[256] = "";
    const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
    if (!api) {
        error = std::string("plugin refused ABI version ") + std::to_string(PRESENCE_ABI_VERSION) +
                ": " + why;
        return false;
    }
    // Version 1 hosts call every hook of the v1 table, so all of it must be there.
    if (api->abi_version != PRESENCE_ABI_VERSION ||
        !PRESENCE_HAS_FIELD(api, presence_plugin_api, tick_interval_ms)) {
        error = "plugin table does not serve ABI version " + std::to_string(PRESENCE_ABI_VERSION);
        return false;
    }
    if (!api->create || !api->destroy || !api->on_connect || !api->on_disconnect ||
        !api->on_message || !api->on_http || !api->tick || !api->on_wake || !api->friendship ||
        !api->tick_interval_ms) {
        error = "plugin table has a NULL hook";
        return false;
    }
    api_ = api;
    return true;
}

}  // namespace presence_host
