// The tables the plugin owns and their migrations, applied in order at start.
#pragma once

#include <mysql.h>

#include <string>

namespace presence::store {

// The schema version this build writes (the number of migrations).
int mariadb_schema_latest_version();

// Creates or migrates the schema to the latest version. Safe when several instances start at
// once: the whole check-and-migrate runs under GET_LOCK('presence_schema'), so one instance
// migrates and the others find the work done. Fails (with *err) when the database holds a
// NEWER version than this build knows, rather than writing rows an old build would garble.
bool mariadb_migrate(MYSQL* conn, std::string* err);

}  // namespace presence::store
