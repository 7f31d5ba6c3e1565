// Building a Service from what `create` receives: the settings parsed, the store chosen and
// opened (memory, or MariaDB with its journal), the Redis link started when redis_url is set.
// The choices live here, next to the service, so the C glue (plugin.cpp) only converts types.
#pragma once

#include <memory>
#include <string>

#include "presence_plugin.h"
#include "service/service.hpp"
#include "service/settings.hpp"

namespace presence::service {

// `host` is the caller's checked copy of the host's table. nullptr with `why` naming the
// setting at fault ("presence.<key>: ...") when a setting is wrong or a store or Redis
// refuses us.
std::unique_ptr<Service> make_service(const presence_host_api& host, const SettingList& settings,
                                      std::string& why);

}  // namespace presence::service
