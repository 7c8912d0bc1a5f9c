#!/usr/bin/env bash
# Builds and runs the Java example against Debian's packages:
#   apt-get install default-jdk-headless protobuf-compiler \
#     protobuf-compiler-grpc-java-plugin libgrpc-java libprotobuf-java \
#     libnetty-java libperfmark-java libgoogle-gson-java \
#     libgeronimo-annotation-1.3-spec-java
# (Debian's protoc, whose generated code matches Debian's protobuf-java.)
#
#   examples/clients/java/run.sh 127.0.0.1:50051 [TOKEN]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../../proto"
build="${DISCLOSURE_JAVA_BUILD:-$(mktemp -d)}"
mkdir -p "$build/gen" "$build/classes"
protos=$(cd "$proto" && find disclosure google/type google/rpc/status.proto -name '*.proto' | sort)
(cd "$proto" && protoc -I. -I/usr/include \
  --plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin \
  --java_out="$build/gen" --grpc-java_out="$build/gen" $protos google/api/http.proto google/api/annotations.proto)
jars=""
for j in grpc-api grpc-core grpc-context grpc-stub grpc-protobuf grpc-protobuf-lite grpc-netty protobuf \
         guava failureaccess perfmark-api gson netty-buffer netty-codec netty-codec-http netty-codec-http2 \
         netty-common netty-handler netty-resolver netty-transport netty-codec-socks netty-handler-proxy \
         error_prone_annotations jsr305 geronimo-annotation-1.3-spec; do
  [ -f "/usr/share/java/$j.jar" ] && jars="$jars:/usr/share/java/$j.jar"
done
jars="${jars#:}"
javac -nowarn -encoding UTF-8 -d "$build/classes" -cp "$jars" \
  $(find "$build/gen" -name '*.java') "$here/Client.java" 2> "$build/javac.log" || { cat "$build/javac.log"; exit 1; }
exec java -cp "$build/classes:$jars" Client "$@"
