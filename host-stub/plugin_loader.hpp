// Opens libpresence.so the way any host must: dlopen(RTLD_NOW | RTLD_LOCAL), look up the one
// entry symbol, and ask for the ABI version this host speaks. RTLD_NOW makes a missing symbol
// fail here, at load, instead of in the middle of serving traffic.
#pragma once

#include <string>

#include "presence_plugin.h"

namespace presence_host {

class PluginLibrary {
  public:
    PluginLibrary() = default;
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;
    ~PluginLibrary();

    // False with a reason (dlerror text or the plugin's own refusal) in `error`.
    bool open(const std::string& path, std::string& error);
    const presence_plugin_api* api() const { return api_; }

  private:
    void* handle_ = nullptr;
    const presence_plugin_api* api_ = nullptr;
};

}  // namespace presence_host
