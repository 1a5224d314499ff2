# install(): the binaries, and the client library with everything it needs
# (kernel, schema, conversion, common) as static libraries plus headers and
# a CMake package config, so that a program outside this repository can
#
#   find_package(pbchain CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE pbchain::client)
#
# with CMAKE_PREFIX_PATH pointing at the prefix. tests/install/ checks it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PBCHAIN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pbchain)

install(TARGETS pbnode pbtracker pbcli pbshop pbvote pbtool
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Exported under pbchain:: without their pbchain_ prefix (pbchain::client).
set(PBCHAIN_EXPORTED pbchain_base pbchain_core pbchain_proto pbchain_convert
    pbchain_client pbchain_tls)
foreach(target ${PBCHAIN_EXPORTED})
  string(REGEX REPLACE "^pbchain_" "" short ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${short})
endforeach()
# The build tree's include directories stay as they are; installed, every
# header lives under include/.
foreach(target pbchain_core pbchain_convert pbchain_client)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>;$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
endforeach()
set_target_properties(pbchain_proto PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/proto>;$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
add_library(pbchain::client ALIAS pbchain_client)

install(TARGETS ${PBCHAIN_EXPORTED} EXPORT pbchainTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT pbchainTargets NAMESPACE pbchain::
        DESTINATION ${PBCHAIN_INSTALL_CMAKEDIR})

# Headers: the layers the client library's headers include.
foreach(dir chain client common)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${dir}
          FILES_MATCHING PATTERN "*.h"
          PATTERN "apps" EXCLUDE PATTERN "web" EXCLUDE PATTERN "examples" EXCLUDE
          PATTERN "proto" EXCLUDE
          # Headers of libraries that are not installed: the command-line
          # programs' CLI11 glue and the daemons' server and flag plumbing.
          PATTERN "cli_app.h" EXCLUDE PATTERN "server.h" EXCLUDE
          PATTERN "status.h" EXCLUDE PATTERN "stream_writer.h" EXCLUDE
          PATTERN "flags.h" EXCLUDE)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/proto/convert.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/proto)
install(FILES ${PROJECT_BINARY_DIR}/generated/common/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/common)
install(DIRECTORY ${PROJECT_BINARY_DIR}/proto/pbchain/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pbchain
        FILES_MATCHING PATTERN "*.pb.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/pbchain/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pbchain/proto/pbchain
        FILES_MATCHING PATTERN "*.proto")

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pbchainConfig.cmake.in
  ${PROJECT_BINARY_DIR}/pbchainConfig.cmake
  INSTALL_DESTINATION ${PBCHAIN_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pbchainConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pbchainConfig.cmake
              ${PROJECT_BINARY_DIR}/pbchainConfigVersion.cmake
        DESTINATION ${PBCHAIN_INSTALL_CMAKEDIR})
