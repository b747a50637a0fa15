# SPDX-License-Identifier: MIT
# Run by `cmake --install` (an install(CODE) rule of CMakeLists.txt): write
# the installed configs and systemd units into RPCHOST_OUT, naming the
# installed files by absolute paths under the prefix of this install
# (CMAKE_INSTALL_PREFIX here is the one `--prefix` or a DESTDIR staging
# installs to, not necessarily the one configured).  The install(FILES)
# rules after it copy them into place.
#
# In:  RPCHOST_SRC (the source tree), RPCHOST_OUT (where to write),
#      RPCHOST_BINDIR, RPCHOST_PLUGINDIR, RPCHOST_CONFDIR (as configured:
#      relative to the prefix, or absolute).

foreach(var BINDIR PLUGINDIR CONFDIR)
    if(IS_ABSOLUTE "${RPCHOST_${var}}")
        set(full_${var} "${RPCHOST_${var}}")
    else()
        set(full_${var} "${CMAKE_INSTALL_PREFIX}/${RPCHOST_${var}}")
    endif()
endforeach()

# The configs: conf/*.ini reach the plugins of the build tree by
# "../build/plugins/"; the installed ones name the installed plugins.
foreach(conf rpc.ini examples.ini)
    file(READ "${RPCHOST_SRC}/conf/${conf}" text)
    string(REPLACE "../build/plugins/" "${full_PLUGINDIR}/" text "${text}")
    string(REPLACE "rpchost -c conf/${conf}"
           "rpchost -c ${full_CONFDIR}/${conf}" text "${text}")
    file(WRITE "${RPCHOST_OUT}/${conf}" "${text}")
endforeach()

# The units: conf/rpchost.service names /usr/local/bin/rpchost and
# /usr/local/etc/rpchost/rpc.ini; the installed one, this install's.
foreach(unit rpchost.service rpchost.socket)
    file(READ "${RPCHOST_SRC}/conf/${unit}" text)
    string(REPLACE "/usr/local/bin/" "${full_BINDIR}/" text "${text}")
    string(REPLACE "/usr/local/etc/rpchost/" "${full_CONFDIR}/" text
           "${text}")
    file(WRITE "${RPCHOST_OUT}/${unit}" "${text}")
endforeach()
