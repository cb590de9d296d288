# Writes a build-tree copy of one .proto that protoc 3.21 can compile for the lite runtime:
#  - `import weak` becomes `import` (the C++ generator aborts on weak imports);
#  - gogoproto and containerd fieldpath imports and options are dropped: they are hints
#    for Go code generation only, change nothing on the wire, and extend
#    descriptor.proto, which would drag in the full protobuf runtime;
#  - `option optimize_for = LITE_RUNTIME;` is added after the package line, so the
#    generated code links against libprotobuf-lite (the shim's memory budget).
# Usage: cmake -DIN=<source .proto> -DOUT=<staged .proto> -P stage_proto.cmake
if(NOT IN OR NOT OUT)
  message(FATAL_ERROR "stage_proto.cmake: IN and OUT are required")
endif()
file(READ "${IN}" text)

string(REPLACE "import weak " "import " text "${text}")
string(REGEX REPLACE "import[ \t]+\"[^\"]*(gogoproto/gogo|protobuf/plugin/fieldpath)\\.proto\"[ \t]*;" "" text "${text}")
# File, message and enum level options: option (gogoproto.x) = v; option (containerd.plugin.x) = v;
string(REGEX REPLACE "option[ \t]*\\((gogoproto|containerd\\.plugin)\\.[A-Za-z0-9_]+\\)[ \t]*=[^;]*;" "" text "${text}")
# Field and enum value options inside [...]: drop the Go ones, then tidy the brackets.
string(REGEX REPLACE "\\((gogoproto|containerd\\.plugin)\\.[A-Za-z0-9_]+\\)[ \t]*=[ \t]*(\"[^\"]*\"|[A-Za-z0-9_.]+)" "" text "${text}")
string(REGEX REPLACE "\\[[ \t,]*\\]" "" text "${text}")
string(REGEX REPLACE "\\[[ \t,]+" "[" text "${text}")
string(REGEX REPLACE "[ \t,]+\\]" "]" text "${text}")
string(REGEX REPLACE ",[ \t]*,[ \t,]*" ", " text "${text}")

if(text MATCHES "gogoproto|containerd\\.plugin\\.")
  message(FATAL_ERROR "stage_proto.cmake: ${IN} still mentions a Go-only option after stripping")
endif()
if(text MATCHES "optimize_for")
  message(FATAL_ERROR "stage_proto.cmake: ${IN} already sets optimize_for")
endif()
string(REGEX REPLACE "(\npackage[ \t]+[A-Za-z0-9_.]+[ \t]*;)" "\\1\noption optimize_for = LITE_RUNTIME;" text "${text}")
if(NOT text MATCHES "LITE_RUNTIME")
  message(FATAL_ERROR "stage_proto.cmake: ${IN} has no package line")
endif()

file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
