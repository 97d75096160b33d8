#!/bin/sh
# The dependency direction protocol <- adapters <- gateway, checked on the
# includes: protocol never sees Asio/Beast or the layers above it; adapters
# never include gateway headers.
root="$1"
status=0
bad=$(grep -rnE '#include\s*[<"](boost/(asio|beast)|gateway/|adapters/)' "$root/protocol" 2>/dev/null)
if [ -n "$bad" ]; then echo "protocol/ includes I/O or upper layers:"; echo "$bad"; status=1; fi
bad=$(grep -rnE '#include\s*[<"]gateway/' "$root/adapters" 2>/dev/null)
if [ -n "$bad" ]; then echo "adapters/ includes gateway headers:"; echo "$bad"; status=1; fi
[ $status -eq 0 ] && echo "layering ok"
exit $status
