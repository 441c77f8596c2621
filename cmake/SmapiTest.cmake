# smapi_add_test(NAME <name> SOURCES <files...> [LIBS <libs...>] [LABEL unit|e2e] [TIMEOUT <s>])
#
# Builds one googletest binary and registers each of its tests with CTest. LABEL unit tests are
# also run under ASan/UBSan by `make test`; e2e tests start real processes and run only in the
# normal build. Tests find binaries through the SMAPI_BIN_DIR, SMAPI_SOURCE_DIR and
# SMAPI_BUILD_DIR environment variables.
function(smapi_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  # The test binaries live apart from the shipped ones in bin/.
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # `unit-tests` builds just the unit test binaries: the ASan+UBSan pass of `make test` needs
  # nothing else.
  if(T_LABEL STREQUAL "unit")
    if(NOT TARGET unit-tests)
      add_custom_target(unit-tests)
    endif()
    add_dependencies(unit-tests ${T_NAME})
  endif()
  # The environment goes through `env` as the test launcher: gtest_discover_tests flattens a
  # list-valued ENVIRONMENT property, so only its first entry would reach the tests.
  set_target_properties(${T_NAME} PROPERTIES CROSSCOMPILING_EMULATOR
    "/usr/bin/env;SMAPI_BIN_DIR=${CMAKE_BINARY_DIR}/bin;SMAPI_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMAPI_BUILD_DIR=${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${T_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
endfunction()

# smapi_add_script_test(NAME <name> COMMAND <cmd...> [LABEL e2e] [TIMEOUT <s>])
# Registers a test that is a command (a Python unittest module, a shell script, dune test).
function(smapi_add_script_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL e2e)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "SMAPI_BIN_DIR=${CMAKE_BINARY_DIR}/bin;SMAPI_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMAPI_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
endfunction()

include(GoogleTest)
