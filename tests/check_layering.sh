#!/bin/sh
# Fails if the pure core (domain types, signatures, normalizers, config)
# includes I/O headers: Beast/Asio, SQLite or prometheus-cpp. The link line
# of dlrd_core_test catches calls; this catches header-only leaks.
root=${1:-.}
dirs=""
for d in include/dlrd/core include/dlrd/signature include/dlrd/normalize \
         include/dlrd/fallback include/dlrd/outbound src/fallback src/outbound \
         include/dlrd/config src/core src/signature src/normalize src/config; do
  [ -d "$root/$d" ] && dirs="$dirs $root/$d"
done
[ -n "$dirs" ] || { echo "no core directories under $root"; exit 1; }
leaks=$(grep -rnE '#include *[<"](boost/(beast|asio)|sqlite3\.h|prometheus/)' $dirs)
if [ -n "$leaks" ]; then
  echo "pure core includes I/O headers:"
  echo "$leaks"
  exit 1
fi
echo "pure core: no I/O includes in$(echo $dirs | wc -w) directories"
