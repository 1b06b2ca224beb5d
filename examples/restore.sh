#!/usr/bin/env bash
# restore.sh ARCHIVE_ID DEST: fetches an archive made by backup-dir.sh (or encrypted-backup.sh, with PASSFILE
# set) and unpacks it into DEST, straight from the pipe. glacier-job get starts a retrieval job, waits for it
# (Standard: 3-5 hours; Expedited: minutes, at a price), and streams the archive checking every piece against
# Glacier's tree hash: unverified bytes never reach tar.
#
#   VAULT=backups TIER=Expedited examples/restore.sh "$ARCHIVE_ID" /tmp/restore
#   PASSFILE=~/.config/backup.pass examples/restore.sh "$ARCHIVE_ID" /tmp/restore
#
# Environment:
#   VAULT      the vault (default: backups)
#   TIER       Expedited, Standard or Bulk (default: Standard)
#   INTERVAL   how often to ask whether the job is done (default: 60s)
#   PASSFILE   if set, the archive is OpenPGP-encrypted: decrypt with this passphrase file
#   AWS_* as usual (see README.md)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: restore ARCHIVE_ID DEST" >&2; exit 2; }
id=$1 dest=$2
VAULT=${VAULT:-backups}
mkdir -p -- "$dest"

# `--` because archive ids may begin with '-'. tar -p keeps the archived modes whoever runs it.
fetch() { glacier-job get -v "$VAULT" --tier "${TIER:-Standard}" --interval "${INTERVAL:-60s}" -- "$id"; }
if [ -n "${PASSFILE:-}" ]; then
  # gpg writes plaintext as it goes and fails at the end if the data was tampered with; pipefail then makes
  # this script fail too (glacier-job has already checked the bytes against Glacier's tree hash).
  fetch | gpg --batch --quiet --decrypt --no-symkey-cache --passphrase-file "$PASSFILE" | tar -xpJf - -C "$dest"
else
  fetch | tar -xpJf - -C "$dest"
fi
echo "restore: archive unpacked into $dest" >&2
