#!/usr/bin/env bash
# nightly-cron.sh: a nightly backup for cron. Packs SRC into a tar.xz stored in VAULT with the date in its
# description, then aborts the vault's multipart uploads left over from failed runs (older than OLDER_THAN),
# which otherwise stay in the vault (and are billed) forever. Everything is logged to stderr, one
# timestamped line per event; the exit status is non-zero if anything failed.
#
# crontab -e (cron's PATH is minimal: name where node and the glacier-* binaries are; flock stops a run from
# starting while yesterday's is still uploading):
#   PATH=/usr/local/bin:/usr/bin:/bin
#   30 2 * * *  SRC=/srv/data VAULT=backups flock -n /tmp/glacier-nightly.lock /usr/local/bin/nightly-cron.sh 2>>/var/log/glacier-nightly.log
# Credentials come from the AWS chain of the user cron runs it as (~/.aws/credentials, AWS_PROFILE, a role).
#
# Environment:
#   SRC          the folder to back up (required)
#   VAULT        the vault (default: backups)
#   OLDER_THAN   abort uploads started more than this long ago (default: 24h; keep it longer than your
#                longest upload, or a slow upload still running would be aborted)
#   XZ_LEVEL     xz level 0-9 (default 6)
set -euo pipefail

me=nightly-cron
log() { printf '%s %s: %s\n' "$(date '+%F %T')" "$me" "$*" >&2; }
[ -n "${SRC:-}" ] || { log "set SRC to the folder to back up"; exit 2; }
VAULT=${VAULT:-backups}
OLDER_THAN=${OLDER_THAN:-24h}
src=$(CDPATH= cd -- "$SRC" && pwd)
desc=$(printf 'nightly %s %s' "$src" "$(date +%F)" | LC_ALL=C tr -c ' -~' '?')
rc=0

# 1. The backup: glacier-pack | glacier-put, as in backup-dir.sh.
log "backing up $src to vault $VAULT as \"$desc\""
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
glacier-pack "-${XZ_LEVEL:-6}" -C "$(dirname "$src")" "$(basename "$src")" | glacier-put -v "$VAULT" -d "$desc" >"$out"
status=("${PIPESTATUS[@]}")
set -e
id=$(sed -n 's/.*"archiveId":"\([^"]*\)".*/\1/p' "$out")
if [ "${status[1]}" -ne 0 ]; then
  log "FAILED: glacier-put exit ${status[1]} (its message is above)"; rc=${status[1]}
elif [ "${status[0]}" -gt 2 ]; then                  # glacier-pack died: the stored tar.xz is truncated
  log "FAILED: glacier-pack exit ${status[0]}; deleting the incomplete archive $id"; rc=${status[0]}
  glacier-rm -v "$VAULT" -- "$id" >&2 || true
else
  [ "${status[0]}" -eq 0 ] || { log "WARNING: glacier-pack exit ${status[0]}: a file changed or was unreadable"; rc=${status[0]}; }
  log "stored: $(cat "$out")"
fi

# 2. The clean-up, even when the backup failed; glacier-abort also removes the uploads' local journals.
log "aborting uploads of $VAULT older than $OLDER_THAN"
if glacier-abort -v "$VAULT" --all --older-than "$OLDER_THAN" | while IFS= read -r line; do log "abort: $line"; done; then
  log "finished, exit $rc"
else
  log "FAILED: glacier-abort (its message is above)"; [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
