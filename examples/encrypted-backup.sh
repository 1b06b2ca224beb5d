#!/usr/bin/env bash
# encrypted-backup.sh DIR: like backup-dir.sh, with the tar.xz encrypted in the pipe before it leaves the
# machine (OpenPGP, AES-256, symmetric, key derived from a passphrase file). Prints the archive id.
#
#   PASSFILE=~/.config/backup.pass VAULT=backups examples/encrypted-backup.sh ~/docs
#   PASSFILE=~/.config/backup.pass examples/restore.sh ARCHIVE_ID /tmp/r      # decrypts and unpacks
#
# Keep the passphrase somewhere other than the vault: without it the archive is noise. Restoring without these
# scripts: gpg --decrypt --passphrase-file FILE < archive | tar -xJf -
#
# Alternative with age (https://age-encryption.org), public-key, so this machine holds no secret:
#   glacier-pack DIR | age -r age1...recipient | glacier-put -v "$VAULT" -d "..."
#   glacier-job get -v "$VAULT" -- ID | age -d -i key.txt | tar -xJf -
#
# Environment:
#   PASSFILE   file holding the passphrase (required; mode 0600)
#   VAULT      the vault (default: backups)
#   XZ_LEVEL   xz level 0-9 (default 6)
#   GNUPGHOME  gpg's home folder (default ~/.gnupg); AWS_* as usual (see README.md)
set -euo pipefail

me=encrypted-backup
[ $# -eq 1 ] || { echo "usage: PASSFILE=FILE $me DIR" >&2; exit 2; }
[ -n "${PASSFILE:-}" ] || { echo "$me: set PASSFILE to a file holding the passphrase" >&2; exit 2; }
[ -r "$PASSFILE" ] || { echo "$me: cannot read PASSFILE $PASSFILE" >&2; exit 2; }
dir=$(CDPATH= cd -- "$1" && pwd)
VAULT=${VAULT:-backups}
desc=$(printf '%s %s gpg' "$dir" "$(date +%F)" | LC_ALL=C tr -c ' -~' '?')

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
# --compress-algo none: the data is xz already. --no-symkey-cache: leave no passphrase in gpg-agent.
glacier-pack "-${XZ_LEVEL:-6}" -C "$(dirname "$dir")" "$(basename "$dir")" |
  gpg --batch --quiet --symmetric --cipher-algo AES256 --compress-algo none --no-symkey-cache \
      --passphrase-file "$PASSFILE" |
  glacier-put -v "$VAULT" -d "$desc" >"$out"
status=("${PIPESTATUS[@]}")
set -e

[ "${status[2]}" -eq 0 ] || exit "${status[2]}"        # glacier-put has said why on stderr
id=$(sed -n 's/.*"archiveId":"\([^"]*\)".*/\1/p' "$out")
if [ "${status[1]}" -ne 0 ] || [ "${status[0]}" -gt 2 ]; then
  # gpg or glacier-pack died mid-stream: the stored archive is truncated. Delete it.
  echo "$me: glacier-pack exit ${status[0]}, gpg exit ${status[1]}; deleting the incomplete archive $id" >&2
  glacier-rm -v "$VAULT" -- "$id" >&2 || true
  exit 1
fi
[ "${status[0]}" -eq 0 ] ||
  echo "$me: glacier-pack warned (exit ${status[0]}, see above); archive $id is valid but not a clean copy" >&2
cat "$out" >&2
echo "$id"
exit "${status[0]}"
