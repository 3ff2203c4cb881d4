# Installs one configuration file unless one is already there, so that
# reinstalling never overwrites an operator's edits. Expects KSMT_SRC,
# KSMT_DEST_DIR (relative to the sysconfdir rule below) and KSMT_DEST_NAME.
# The prefix is read at install time, so "cmake --install --prefix /usr"
# puts it in /etc as GNUInstallDirs does for /usr.
if(IS_ABSOLUTE "${KSMT_DEST_DIR}")
  set(_dir "${KSMT_DEST_DIR}") # e.g. dh passes -DCMAKE_INSTALL_SYSCONFDIR=/etc
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_dir "/${KSMT_DEST_DIR}")
else()
  set(_dir "${CMAKE_INSTALL_PREFIX}/${KSMT_DEST_DIR}")
endif()
set(_dest "$ENV{DESTDIR}${_dir}/${KSMT_DEST_NAME}")
if(EXISTS "${_dest}")
  message(STATUS "Keeping existing: ${_dest}")
else()
  message(STATUS "Installing: ${_dest}")
  configure_file("${KSMT_SRC}" "${_dest}" COPYONLY)
endif()
