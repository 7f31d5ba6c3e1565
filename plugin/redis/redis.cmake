# The Redis link (SPEC 9), included by plugin/adapters.cmake. Produces presence_redis: the URL
# parser, the blocking connection over hiredis, and the client that routes over a Redis Cluster.
file(GLOB PRESENCE_REDIS_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
add_library(presence_redis STATIC ${PRESENCE_REDIS_SOURCES})
target_include_directories(presence_redis PUBLIC ${CMAKE_SOURCE_DIR}/plugin)
target_link_libraries(presence_redis PUBLIC presence_core PkgConfig::HIREDIS PkgConfig::OPENSSL Threads::Threads)
set_target_properties(presence_redis PROPERTIES
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  POSITION_INDEPENDENT_CODE ON)
