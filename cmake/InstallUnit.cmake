# Configures one systemd unit template at install time and installs it.
# Expects KSMT_UNIT_SRC (the .in file), KSMT_UNIT_OUT (where to write the
# configured copy in the build tree), KSMT_UNIT_DIR (the absolute unit
# directory) and KSMT_SBINDIR (CMAKE_INSTALL_SBINDIR, usually relative).
# @SBINDIR@ is worked out from the prefix in force at install time, so
# "cmake --install build --prefix /usr" yields ExecStart=/usr/sbin/... even
# when the build was configured for /usr/local.
if(IS_ABSOLUTE "${KSMT_SBINDIR}")
  set(SBINDIR "${KSMT_SBINDIR}")
else()
  set(SBINDIR "${CMAKE_INSTALL_PREFIX}/${KSMT_SBINDIR}")
endif()
configure_file("${KSMT_UNIT_SRC}" "${KSMT_UNIT_OUT}" @ONLY)
# file(INSTALL) honours DESTDIR and records the file in install_manifest.txt.
file(INSTALL DESTINATION "${KSMT_UNIT_DIR}" TYPE FILE FILES "${KSMT_UNIT_OUT}")
