# ctest check: libpresence.so exports presence_plugin_entry and nothing else of ours.
# Run as: cmake -DNM=... -DLIBRARY=... -P check_exports.cmake
execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" lines "${symbols}")
set(found_entry FALSE)
set(extra "")
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] " "" name "${line}")
  # A version script may tag our symbol (name@@NODE); compare the bare name.
  string(REGEX REPLACE "@.*$" "" base "${name}")
  if(base STREQUAL "presence_plugin_entry")
    set(found_entry TRUE)
  elseif(NOT base MATCHES "^(_init|_fini|_edata|_end|__bss_start)$"
         AND NOT name MATCHES "@@?(GLIBC|GCC|CXXABI|GLIBCXX)_")
    # Toolchain-versioned names come from the C/C++ runtimes, not from us.
    list(APPEND extra "${name}")
  endif()
endforeach()
if(NOT found_entry)
  message(FATAL_ERROR "presence_plugin_entry is not exported by ${LIBRARY}")
endif()
if(extra)
  message(FATAL_ERROR "unexpected exported symbols: ${extra}")
endif()
message(STATUS "exports OK: presence_plugin_entry only")
