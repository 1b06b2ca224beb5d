#!/usr/bin/env bash
# backup-dir.sh DIR: packs a folder into a tar.xz and stores it in a Glacier vault, in one pipe,
# with no temporary file. Prints the archive id on stdout (keep it: it is what restore.sh needs).
#
#   VAULT=backups examples/backup-dir.sh /srv/www          # -> archive id; description "/srv/www 2026-11-27"
#
# The archive holds the folder under its own name (www/...), so `restore.sh ID /tmp/r` recreates /tmp/r/www.
#
# Environment:
#   VAULT      the vault (default: backups; create it once with `glacier-vault create backups`)
#   XZ_LEVEL   xz level 0-9 (default 6; 1 is several times faster on big folders)
#   AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_GLACIER ...: the usual AWS settings (see README.md)
set -euo pipefail

me=backup-dir
[ $# -eq 1 ] || { echo "usage: $me DIR" >&2; exit 2; }
dir=$(CDPATH= cd -- "$1" && pwd)                  # absolute path, no trailing slash (cd says why if DIR is missing)
VAULT=${VAULT:-backups}
# Descriptions must be printable ASCII: any other byte of the path becomes '?'.
desc=$(printf '%s %s' "$dir" "$(date +%F)" | LC_ALL=C tr -c ' -~' '?')

# glacier-pack -C PARENT NAME: member names start with NAME/, not with the whole absolute path.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
glacier-pack "-${XZ_LEVEL:-6}" -C "$(dirname "$dir")" "$(basename "$dir")" |
  glacier-put -v "$VAULT" -d "$desc" >"$out"
status=("${PIPESTATUS[@]}")
set -e

[ "${status[1]}" -eq 0 ] || exit "${status[1]}"        # glacier-put has said why on stderr
id=$(sed -n 's/.*"archiveId":"\([^"]*\)".*/\1/p' "$out")
case ${status[0]} in
  0) ;;
  1|2) # A file changed while read (1) or could not be read (2): the archive is valid; exit non-zero to be seen.
    echo "$me: glacier-pack warned (exit ${status[0]}, see above); archive $id is valid but not a clean copy" >&2 ;;
  *) # glacier-pack died mid-stream: what glacier-put stored is a truncated tar.xz. Delete it.
    echo "$me: glacier-pack failed (exit ${status[0]}); deleting the incomplete archive $id" >&2
    glacier-rm -v "$VAULT" -- "$id" >&2 || true
    exit "${status[0]}" ;;
esac
cat "$out" >&2                                          # the full result (size, tree hash ...) for the log
echo "$id"
exit "${status[0]}"
