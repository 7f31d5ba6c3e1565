# The MariaDB store (SPEC 8), included by plugin/adapters.cmake. Produces presence_mariadb.
file(GLOB PRESENCE_MARIADB_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/mariadb*.cpp)
add_library(presence_mariadb STATIC ${PRESENCE_MARIADB_SOURCES})
target_include_directories(presence_mariadb PUBLIC ${CMAKE_SOURCE_DIR}/plugin ${CMAKE_SOURCE_DIR}/abi)
target_link_libraries(presence_mariadb PUBLIC PkgConfig::MARIADB Threads::Threads)
set_target_properties(presence_mariadb PROPERTIES
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  POSITION_INDEPENDENT_CODE ON)
