# Stages criu's rpc.proto like every other file (stage_proto.cmake), after giving it
# `package criu;`: the file declares no package, so its classes (criu_req, criu_opts)
# and its enum values (DUMP, IGNORE, DEFAULT, STRICT, ...) would otherwise land in
# C++'s global namespace. A package name is not part of the wire format.
# Usage: cmake -DIN=<rpc.proto> -DOUT=<staged .proto> -P stage_criu_rpc.cmake
if(NOT IN OR NOT OUT)
  message(FATAL_ERROR "stage_criu_rpc.cmake: IN and OUT are required")
endif()
file(READ "${IN}" text)
if(NOT text MATCHES "\npackage[ \t]")
  string(REGEX REPLACE "(syntax[ \t]*=[ \t]*\"proto2\"[ \t]*;)" "\\1\npackage criu;" text "${text}")
endif()
if(NOT text MATCHES "\npackage[ \t]")
  message(FATAL_ERROR "stage_criu_rpc.cmake: ${IN} has no proto2 syntax line to put a package after")
endif()
file(WRITE "${OUT}.with-package" "${text}")
set(IN "${OUT}.with-package")
include(${CMAKE_CURRENT_LIST_DIR}/stage_proto.cmake)
file(REMOVE "${OUT}.with-package")
