#!/usr/bin/env bash
# Prints a JAVA_HOME for a JDK 25 (the project's target): $JAVA_HOME if it is one, else the first under /usr/lib/jvm.
set -euo pipefail
# (the version line, not the first line: JAVA_TOOL_OPTIONS makes the JVM print a note before it)
is25() { [[ -x $1/bin/javac ]] && "$1/bin/java" -version 2>&1 | grep -qE '^[a-z]+ version "25(\.|")'; }
if [[ -n ${JAVA_HOME:-} ]] && is25 "$JAVA_HOME"; then echo "$JAVA_HOME"; exit 0; fi
for d in /usr/lib/jvm/*25* /usr/lib/jvm/*; do
  if is25 "$d"; then echo "$d"; exit 0; fi
done
echo "no JDK 25 found: install Temurin 25 (or any JDK 25) under /usr/lib/jvm, or set JAVA_HOME" >&2
exit 1
