# The adapter layer around presence_core: protocol (JSON in/out, REST routes), stores, the
# service that orchestrates them, and the C entry point. Included by plugin/CMakeLists.txt.

# The MariaDB store (static library presence_mariadb).
include(${CMAKE_CURRENT_LIST_DIR}/store/mariadb.cmake)
# The Redis link (static library presence_redis).
include(${CMAKE_CURRENT_LIST_DIR}/redis/redis.cmake)

set(PRESENCE_ADAPTER_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/protocol/json_writer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol/utf8.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol/frames.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol/client_message.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol/rest_router.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol/http_headers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/store/memory_store.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/settings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/abuse_guard.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/user_loader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/shared_presence.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/service.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/rest_handlers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service/make_service.cpp
)

# Everything but the entry point, so tests can link the pieces directly.
add_library(presence_adapters STATIC ${PRESENCE_ADAPTER_SOURCES})
target_include_directories(presence_adapters PUBLIC
  ${CMAKE_CURRENT_LIST_DIR}
  ${PROJECT_SOURCE_DIR}/abi)
# presence_core again after presence_mariadb: the store uses core types (static link order).
target_link_libraries(presence_adapters PUBLIC presence_core PkgConfig::CJSON presence_mariadb
  presence_redis presence_core)
set_target_properties(presence_adapters PROPERTIES
  CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

# The C entry point, compiled once: its object goes into libpresence.so and into the fuzz
# targets that drive the whole plugin through its table (tests/fuzz).
add_library(presence_entry OBJECT ${CMAKE_CURRENT_LIST_DIR}/plugin.cpp)
target_link_libraries(presence_entry PUBLIC presence_adapters)
target_compile_definitions(presence_entry PRIVATE PRESENCE_PLUGIN_VERSION="${PROJECT_VERSION}")
set_target_properties(presence_entry PROPERTIES
  CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

# libpresence.so: exports presence_plugin_entry alone (checked with nm -D by the ABI tests).
add_library(presence SHARED)
target_link_libraries(presence PRIVATE presence_entry)
set_target_properties(presence PROPERTIES
  LINKER_LANGUAGE CXX
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/presence.map)
target_link_options(presence PRIVATE
  -Wl,--no-undefined
  -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/presence.map)
