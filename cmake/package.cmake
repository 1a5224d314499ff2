# The Debian package (issue 17): `cpack -G DEB` in a build directory
# configured with -DPBCHAIN_PACKAGE=ON -DCMAKE_INSTALL_PREFIX=/usr makes
# package/pbchain_<version>_amd64.deb. tools/package.sh does both.
#
# The package holds everything cmake/install.cmake installs (the six
# programs, the client library with its headers and CMake config, the
# protos) plus, only with PBCHAIN_PACKAGE (absolute paths, so off for a
# plain `cmake --install --prefix DIR`):
#   /lib/systemd/system/pbnode@.service, pbtracker.service  deploy/systemd/
#   /etc/pbchain/node.toml, tracker.toml (conffiles)        deploy/etc/
#   /usr/share/doc/pbchain/ (README, docs, example configs)
# and the maintainer scripts of deploy/debian/ (user pbchain,
# /var/lib/pbchain, purge). docs/OPERATIONS.md "Debian package and systemd
# units" describes it; tests/package/ installs it in a fresh Debian 12
# container and starts the units.
option(PBCHAIN_PACKAGE
  "Install the systemd units, /etc/pbchain and the docs (absolute paths; for cpack -G DEB)" OFF)

if(PBCHAIN_PACKAGE)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/pbnode@.service
                ${PROJECT_SOURCE_DIR}/deploy/systemd/pbtracker.service
          DESTINATION /lib/systemd/system)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/etc/node.toml
                ${PROJECT_SOURCE_DIR}/deploy/etc/tracker.toml
          DESTINATION /etc/pbchain)
  install(FILES ${PROJECT_SOURCE_DIR}/README.md
                ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md
                ${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md
                ${PROJECT_SOURCE_DIR}/docs/ARCHITECTURE.md
                ${PROJECT_SOURCE_DIR}/docs/APPS.md
                ${PROJECT_SOURCE_DIR}/docs/pbnode.example.toml
                ${PROJECT_SOURCE_DIR}/docs/pbtracker.example.toml
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pbchain)
  # CPACK_STRIP_FILES strips the programs only; the static libraries lose
  # their debug sections here (as Debian's dh_strip does): 80 MB less.
  if(CMAKE_STRIP)
    install(CODE "
      file(GLOB pbchain_archives \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/libpbchain_*.a\")
      foreach(archive \${pbchain_archives})
        execute_process(COMMAND ${CMAKE_STRIP} --strip-debug \${archive}
                        RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
          message(FATAL_ERROR \"strip --strip-debug \${archive} failed\")
        endif()
      endforeach()")
  endif()
endif()

set(CPACK_PACKAGE_NAME pbchain)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pbchain")
set(CPACK_PACKAGE_CONTACT "pbchain maintainers <pbchain@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "proof-of-work blockchain node, tracker, clients and client library")
set(CPACK_PACKAGE_DESCRIPTION
  "pbchain is a small proof-of-work blockchain. This package holds the node\n\
(pbnode) and peer tracker (pbtracker) with systemd units, the command-line\n\
clients (pbcli, pbshop, pbvote, pbtool), the C++ client library with its\n\
headers and CMake package config, the protos and the documentation.")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)

# Debian's own file name: pbchain_0.1.0_amd64.deb.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CPACK_PACKAGE_CONTACT})
# Depends: the shared libraries the programs link (libgrpc++1.51,
# libgoogle-glog0v6, libssl3, ...; RocksDB is linked statically), computed
# by dpkg-shlibdeps (dpkg-dev), plus adduser for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# The client library's headers and CMake config need the -dev packages of
# what they include (and Debian's gRPC CMake config wants the
# grpc_cpp_plugin of protobuf-compiler-grpc), but a server needs none of
# them: Suggests, which apt does not install by default, keeps the runtime
# install small. tests/package builds a program against them.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "libgrpc++-dev, protobuf-compiler-grpc, libprotobuf-dev, libabsl-dev, libssl-dev, nlohmann-json3-dev, cmake, g++")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/postrm
  ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
