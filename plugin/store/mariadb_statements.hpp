// The SQL the MariaDB store runs, and the multi-row shapes it prepares. Batches are split
// greedily into chunks of the sizes below, so a connection prepares at most a handful of
// statement shapes per kind, each reused for every batch.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace presence::store {

inline constexpr std::size_t kChunkSizes[] = {256, 64, 16, 4, 1};

// Splits n into chunk sizes from kChunkSizes, largest first (e.g. 300 -> 256,16,16,4,4,4).
std::vector<std::size_t> mariadb_chunks(std::size_t n);

std::string mariadb_upsert_users_sql(std::size_t rows);       // 6 params per row
std::string mariadb_select_users_sql(std::size_t ids);        // ids params
std::string mariadb_select_visibility_sql(std::size_t ids);   // ids params
std::string mariadb_delete_visibility_sql(std::size_t ids);   // ids params
std::string mariadb_insert_visibility_sql(std::size_t rows);  // 2 params per row

}  // namespace presence::store
