#!/bin/sh
# A containerd logging binary (binary:// log URI) for the tests: containerd's runc
# shim, and berth's, start it with the container's stdout on fd 3, its stderr on fd 4,
# and a pipe on fd 5 to close once ready; the environment holds only CONTAINER_ID and
# CONTAINER_NAMESPACE. Arguments come from the URI's query: `file PREFIX`.
[ "$1" = file ] || exit 2
prefix=$2
echo "$CONTAINER_NAMESPACE/$CONTAINER_ID" >"$prefix.env"
exec 5>&-
/bin/cat <&3 >>"$prefix.out" &
/bin/cat <&4 >>"$prefix.err" &
wait
