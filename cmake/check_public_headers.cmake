# cmake -DCXX=<compiler> -DINCLUDE_DIR=<include/> -DEXTRA_INCLUDES=<dirs> -P check_public_headers.cmake
# Every public header preprocesses with only include/ (plus EXTRA_INCLUDES, the Boost headers) on
# the include path, never src/; sluice/sluice.hpp compiles that way and reaches none of CLI11,
# LevelDB, CAF, librdkafka, libpqxx or libcurl.
set(flags -std=c++20 -I${INCLUDE_DIR})
foreach(dir IN LISTS EXTRA_INCLUDES)
  list(APPEND flags -I${dir})
endforeach()
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/sluice/*.hpp)
foreach(header IN LISTS headers)
  execute_process(COMMAND ${CXX} ${flags} -M -x c++ ${INCLUDE_DIR}/${header}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${header} needs more than include/ on the include path:\n${err}")
  endif()
endforeach()
execute_process(COMMAND ${CXX} ${flags} -fsyntax-only -H -x c++ ${INCLUDE_DIR}/sluice/sluice.hpp
                RESULT_VARIABLE rc ERROR_VARIABLE used)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sluice/sluice.hpp does not compile with only include/ on the include path:\n${used}")
endif()
foreach(forbidden CLI leveldb caf librdkafka pqxx curl)
  if(used MATCHES "/${forbidden}/[^\n]*")
    message(SEND_ERROR "sluice/sluice.hpp includes ${CMAKE_MATCH_0}")
  endif()
endforeach()
