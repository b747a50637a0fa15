# SPDX-License-Identifier: MIT
# rpchost_add_plugin(NAME SOURCES file.c... [OUTPUT_NAME name]
#                    [OUTPUT_DIRECTORY dir])
#
# A plugin the way rpchost loads one: a MODULE library named NAME.so (no
# "lib" prefix; OUTPUT_NAME to change the file name), built as C11 against
# rpchost::sdk only, with every symbol hidden but the entry point that
# RPCHOST_PLUGIN_DEFINE exports.  Installed with the SDK's CMake package
# (find_package(rpchost) makes it available) and used by rpchost's own
# plugins and test fixtures.  Link anything else the plugin needs with
# target_link_libraries(NAME PRIVATE ...) afterwards.
function(rpchost_add_plugin name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "OUTPUT_NAME;OUTPUT_DIRECTORY"
                          "SOURCES")
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "rpchost_add_plugin(${name}): no SOURCES")
    endif()
    add_library(${name} MODULE ${ARG_SOURCES})
    set_target_properties(${name} PROPERTIES
        PREFIX ""
        C_VISIBILITY_PRESET hidden)
    if(ARG_OUTPUT_NAME)
        set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
    endif()
    if(ARG_OUTPUT_DIRECTORY)
        set_target_properties(${name} PROPERTIES
            LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
    endif()
    target_compile_features(${name} PRIVATE c_std_11)
    target_link_libraries(${name} PRIVATE rpchost::sdk)
    # Inside rpchost's own tree: its warning (and sanitizer) flags.
    if(TARGET rpchost_build_flags)
        target_link_libraries(${name} PRIVATE rpchost_build_flags)
    endif()
endfunction()
