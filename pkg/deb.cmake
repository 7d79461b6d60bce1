# The Debian package (`make deb`): CPack's DEB generator over the install
# rules, Depends computed from the binaries (dpkg-shlibdeps) plus what
# the scripts need. Files only the package installs (the configuration,
# the systemd unit, tmpfiles.d, the certificate script, copyright and
# changelog) are the component `deb`, left out of a plain
# `cmake --install`; the man pages are installed either way.

# Man pages, gzipped as Debian wants them (-n: no name or time inside).
set(SBC_MANS sbcd.8 sbcctl.8 sbc-drill.8)
set(SBC_MAN_GZ "")
foreach(m ${SBC_MANS})
  set(out ${CMAKE_BINARY_DIR}/man/${m}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh -c "gzip -9n < \"$1\" > \"$2\"" sh
            ${CMAKE_SOURCE_DIR}/man/${m} ${out}
    DEPENDS ${CMAKE_SOURCE_DIR}/man/${m} VERBATIM)
  list(APPEND SBC_MAN_GZ ${out})
endforeach()

# The package's /etc/sbc/sbc.conf: sbcd --print-config with the
# package's paths (pkg/mkconf.sh); and its changelog, gzipped.
set(SBC_DEB_CONF ${CMAKE_BINARY_DIR}/pkg/sbc.conf)
set(SBC_DEB_CHANGELOG ${CMAKE_BINARY_DIR}/pkg/changelog.Debian.gz)
add_custom_command(OUTPUT ${SBC_DEB_CONF}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/pkg
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/mkconf.sh $<TARGET_FILE:sbcd>
          ${SBC_DEB_CONF}
  DEPENDS sbcd ${CMAKE_CURRENT_LIST_DIR}/mkconf.sh VERBATIM)
add_custom_command(OUTPUT ${SBC_DEB_CHANGELOG}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/pkg
  COMMAND sh -c "gzip -9n < \"$1\" > \"$2\"" sh
          ${CMAKE_CURRENT_LIST_DIR}/changelog ${SBC_DEB_CHANGELOG}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/changelog VERBATIM)
add_custom_target(pkgfiles ALL DEPENDS ${SBC_MAN_GZ} ${SBC_DEB_CONF}
                                       ${SBC_DEB_CHANGELOG})

install(FILES ${SBC_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

install(FILES ${SBC_DEB_CONF} DESTINATION /etc/sbc
        COMPONENT deb EXCLUDE_FROM_ALL)
# /lib, not /usr/lib: Debian 12's place for units (debhelper's too)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/sbcd.service
        DESTINATION /lib/systemd/system COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/sbc.tmpfiles
        DESTINATION lib/tmpfiles.d RENAME sbc.conf
        COMPONENT deb EXCLUDE_FROM_ALL)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/conf/mkcert.sh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/sbc
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright ${SBC_DEB_CHANGELOG}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/sbc
        COMPONENT deb EXCLUDE_FROM_ALL)

# Version, revision and maintainer come from pkg/changelog's top entry,
# as dpkg-buildpackage takes them from debian/changelog; its upstream
# version must be the project's.
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/changelog SBC_DEB_TOP LIMIT_COUNT 1)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/changelog SBC_DEB_SIG
     REGEX "^ -- " LIMIT_COUNT 1)
if(NOT SBC_DEB_TOP MATCHES "^sbc \\(([^-()]+)-([^-()]+)\\) ")
  message(FATAL_ERROR "pkg/changelog: top line '${SBC_DEB_TOP}' is not 'sbc (VERSION-REVISION) ...'")
endif()
set(SBC_DEB_UPSTREAM ${CMAKE_MATCH_1})
set(SBC_DEB_REVISION ${CMAKE_MATCH_2})
if(NOT SBC_DEB_UPSTREAM STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "pkg/changelog: top entry is ${SBC_DEB_UPSTREAM}, the project is ${PROJECT_VERSION}: add an entry")
endif()
if(NOT SBC_DEB_SIG MATCHES "^ -- (.+>)  ")
  message(FATAL_ERROR "pkg/changelog: no ' -- NAME <EMAIL>  DATE' line")
endif()
set(SBC_DEB_MAINTAINER "${CMAKE_MATCH_1}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sbc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${SBC_DEB_REVISION})
set(CPACK_PACKAGE_CONTACT "${SBC_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SBC_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "carrier-grade SIP entry-point Session Border Controller")
# (CPack puts the summary first, indents each line, an empty line is " .")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"sbcd sits between a service provider's customers (PBXs, phones, the
Internet) and its switch: a transaction-stateful, dialog-aware SIP proxy
with RTP and SRTP relay, flood, scanner and password-guessing
protection, blacklists and fraud policies, registrations with Path, and
an active/standby pair over Corosync managed by Pacemaker.

This package holds sbcd, its control command sbcctl, the failover drill
sbc-drill, the OCF resource agent ocf:sbc:sbcd, and sbcd.service for a
standalone node (installed disabled: a cluster node runs sbcd under
Pacemaker).")
# Depends: the libraries from the binaries (libre, libssl, libsrtp2,
# libcpg, libquorum, libhiredis), plus what the package's scripts and the
# default configuration need: adduser and openssl (postinst: the user
# sbc, the self-signed certificate), ca-certificates (upstream_ca),
# python3 (sbc-drill). Recommends: the resource agent's ocf-shellfuncs
# (resource-agents), sipp for its OPTIONS probe (sip-tester), ip.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ca-certificates, openssl, python3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "resource-agents, sip-tester, iproute2")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "corosync, corosync-qdevice, pacemaker, pcs, redis-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/postinst ${CMAKE_CURRENT_LIST_DIR}/prerm
    ${CMAKE_CURRENT_LIST_DIR}/postrm ${CMAKE_CURRENT_LIST_DIR}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# one package of the default component and `deb`
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Unspecified deb)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
include(CPack)
