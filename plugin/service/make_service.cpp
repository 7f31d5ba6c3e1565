#include "service/make_service.hpp"

#include "redis/redis_link.hpp"
#include "redis/redis_url.hpp"
#include "store/mariadb_store.hpp"
#include "store/store.hpp"

namespace presence::service {
namespace {

// The stores log with their own levels (no ABI header there); they are the ABI's numbers.
static_assert(store::kLogError == PRESENCE_LOG_ERROR && store::kLogWarn == PRESENCE_LOG_WARN &&
              store::kLogInfo == PRESENCE_LOG_INFO && store::kLogDebug == PRESENCE_LOG_DEBUG);

std::unique_ptr<store::Store> open_store(const presence_host_api& host, const PluginConfig& config,
                                         std::string& why) {
    if (config.db_url.empty()) {
        store::MemoryStoreOptions opts;
        opts.friends_file = config.friends_file;
        auto memory = store::make_memory_store(opts, &why);
        if (!memory) why = "presence.friends_file: " + why;
        return memory;
    }
    store::MariaDbOptions opts;
    opts.url = config.db_url;
    opts.friends_query = config.friends_query;
    opts.journal_path = config.journal_path;
    const presence_host_api h = host;  // the callbacks below outlive the caller's copy
    // The MariaDB store's reasons already name their setting (db_url, friends_query,
    // journal_path).
    return store::make_mariadb_store(
        opts, [h] { h.wake(h.host_ctx); },
        [h](int level, const std::string& line) {
            if (h.log) h.log(h.host_ctx, level, line.c_str());
        },
        &why);
}

// nullptr and an empty `why` when Redis is not configured (one instance).
std::unique_ptr<redis::RedisLink> start_link(const presence_host_api& host,
                                             const PluginConfig& config, std::string& why) {
    if (config.redis_url.empty()) return nullptr;
    redis::LinkOptions opts;
    opts.url = *redis::parse_redis_url(config.redis_url, why);  // checked by parse_settings
    opts.instance = config.instance_id;
    opts.instance_ttl_ms = static_cast<core::Millis>(config.instance_ttl_s) * 1000;
    const presence_host_api h = host;
    opts.wake = [h] { h.wake(h.host_ctx); };
    auto link = redis::RedisLink::start(std::move(opts), why);
    if (!link) why = "presence.redis_url: Redis refused us: " + why;
    return link;
}

}  // namespace

std::unique_ptr<Service> make_service(const presence_host_api& host, const SettingList& settings,
                                      std::string& why) {
    auto config = parse_settings(settings, default_instance_id(), why);
    if (!config) return nullptr;
    auto store = open_store(host, *config, why);
    if (!store) return nullptr;
    std::unique_ptr<redis::RedisLink> link;
    if (!config->redis_url.empty()) {
        link = start_link(host, *config, why);
        if (!link) return nullptr;
    }
    return std::make_unique<Service>(host, std::move(*config), std::move(store), std::move(link));
}

}  // namespace presence::service
