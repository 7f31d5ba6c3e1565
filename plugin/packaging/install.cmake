# What `cmake --install` puts where for host authors (included by plugin/CMakeLists.txt):
#   <libdir>/libpresence.so.1             the plugin; soname = ABI version (the real file is
#                                         libpresence.so.1.<minor>.<patch>; libpresence.so links it)
#   <includedir>/presence_plugin.h        the ABI header, the whole contract
#   <libdir>/pkgconfig/presence.pc        pkg-config --cflags presence; --variable=plugin presence
#   <libdir>/cmake/presence/              find_package(presence) -> target presence::headers and
#                                         presence_PLUGIN (the path to dlopen)
# A host dlopens the plugin and links only the header target (include path and -ldl).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The soname follows PRESENCE_ABI_VERSION, so an incompatible ABI is a new file name.
file(STRINGS ${PROJECT_SOURCE_DIR}/abi/presence_plugin.h abi_line
     REGEX "^#define PRESENCE_ABI_VERSION [0-9]+u?$")
string(REGEX REPLACE "^#define PRESENCE_ABI_VERSION ([0-9]+)u?$" "\\1" PRESENCE_SOVERSION
                     "${abi_line}")
if(NOT PRESENCE_SOVERSION MATCHES "^[0-9]+$")
  message(FATAL_ERROR "cannot read PRESENCE_ABI_VERSION from abi/presence_plugin.h")
endif()
set_target_properties(presence PROPERTIES
  SOVERSION ${PRESENCE_SOVERSION}
  VERSION ${PRESENCE_SOVERSION}.${PROJECT_VERSION_MINOR}.${PROJECT_VERSION_PATCH})
set(PRESENCE_PLUGIN_FILE libpresence.so.${PRESENCE_SOVERSION})

install(TARGETS presence LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS presence_headers EXPORT presenceTargets)
install(FILES ${PROJECT_SOURCE_DIR}/abi/presence_plugin.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT presenceTargets NAMESPACE presence::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/presence)

set(PRESENCE_PLUGIN_INSTALL_PATH ${CMAKE_INSTALL_LIBDIR}/${PRESENCE_PLUGIN_FILE})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/presence-config.cmake.in
  ${PROJECT_BINARY_DIR}/packaging/presence-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/presence
  PATH_VARS PRESENCE_PLUGIN_INSTALL_PATH CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/packaging/presence-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/packaging/presence-config.cmake
              ${PROJECT_BINARY_DIR}/packaging/presence-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/presence)

# pkg-config: paths relative to the .pc file, so any --prefix (and the .deb's /usr) works.
set(PRESENCE_PC_LIBS "")
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND PRESENCE_PC_LIBS "-l${lib}")
endforeach()
file(RELATIVE_PATH PRESENCE_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" PRESENCE_PC_TO_PREFIX "${PRESENCE_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/presence.pc.in ${PROJECT_BINARY_DIR}/packaging/presence.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/presence.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")
