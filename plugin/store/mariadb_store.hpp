// The MariaDB store (SPEC 8): schema + migrations, friends through friends_query, coalesced and
// batched write-behind on a worker thread, reconnect with backoff, degraded health while down.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/mariadb_url.hpp"
#include "store/store.hpp"

namespace presence::store {

struct MariaDbOptions {
    std::string url;  // mariadb://user:pass@host:port/db or mariadb://user:pass@/db?socket=PATH
    std::string friends_query;          // one '?' placeholder: the user id
    std::size_t max_queue = 1'000'000;  // pending coalesced user writes kept while the DB is down
    // The local journal's directory (mariadb_journal.hpp); "" = default_journal_dir(url).
    std::string journal_path;
};

// <$STATE_DIRECTORY | $XDG_STATE_HOME | $HOME/.local/state>/presence/journal-<db>-<hash of
// host, port, socket and db>, or "" when none of those variables is set.
std::string default_journal_dir(const MariaDbUrl& url);

// Parses and checks the URL, connects once (to fail fast on a wrong password or unknown
// database), runs migrations, opens the journal (its records go into the write queue), starts
// the worker thread(s). `wake` is called from the worker
// thread when results are ready; `log(level, line)` may be called from any thread (levels as
// LogLevel, store.hpp). Returns nullptr with a clear reason in *err on failure.
std::unique_ptr<Store> make_mariadb_store(const MariaDbOptions& options, std::function<void()> wake,
                                          std::function<void(int, const std::string&)> log,
                                          std::string* err);

}  // namespace presence::store
