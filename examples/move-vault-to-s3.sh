#!/usr/bin/env bash
# move-vault-to-s3.sh VAULT s3://BUCKET/PREFIX/: copies every archive of a vault to S3, verified at both ends and
# paced, as AWS advises vault users to do. Run it again after any stop (reboot, kill, expired jobs): it continues
# where it stopped and retrieves nothing twice, so it can simply run from cron until it says it is done.
#
#   MAX_BYTES_PER_DAY=500G examples/move-vault-to-s3.sh photos s3://my-bucket/photos/
#
# Environment:
#   TIER               Bulk (default), Standard or Expedited
#   MAX_JOBS           retrieval jobs outstanding at most (default 100)
#   MAX_BYTES_PER_DAY  bytes of retrievals started per 24 h at most (default: no limit)
#   INTERVAL           how often to ask about jobs (default 15m)
#   STORAGE_CLASS      S3 storage class (default DEEP_ARCHIVE)
#   SHARD              K/N: this host's share of the vault (run N hosts with K = 0..N-1)
#   INVENTORY          an inventory file or job id (default: an inventory job is started and waited for)
#   REPORT             where the per-archive records go (default move-VAULT.jsonl, appended)
#   AWS_* as usual; AWS_ENDPOINT_URL_S3 for an S3-compatible endpoint
# It copies: delete from the vault yourself once you have checked the objects (glacier-rm reads ids on stdin).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: move-vault-to-s3 VAULT s3://BUCKET/PREFIX/" >&2; exit 2; }
vault=$1 dest=$2
case $dest in s3://?*) ;; *) echo "move-vault-to-s3: destination must be s3://BUCKET/PREFIX/, not: $dest" >&2; exit 2 ;; esac

args=(-v "$vault" --to "$dest" --tier "${TIER:-Bulk}" --max-jobs "${MAX_JOBS:-100}" --interval "${INTERVAL:-15m}" --storage-class "${STORAGE_CLASS:-DEEP_ARCHIVE}")
[ -z "${MAX_BYTES_PER_DAY:-}" ] || args+=(--max-bytes-per-day "$MAX_BYTES_PER_DAY")
[ -z "${SHARD:-}" ] || args+=(--shard "$SHARD")
[ -z "${INVENTORY:-}" ] || args+=(--inventory "$INVENTORY")
report=${REPORT:-move-$vault.jsonl}

set +e
glacier-restore "${args[@]}" < /dev/null >> "$report"
status=$?
set -e
case $status in
  0) echo "move-vault-to-s3: every archive of $vault is in $dest (records in $report)" >&2 ;;
  130 | 143) echo "move-vault-to-s3: interrupted; run the same command again to continue" >&2 ;;
  3) echo "move-vault-to-s3: some archives failed verification and were not completed in S3 (status \"integrity\" in $report)" >&2 ;;
  *) echo "move-vault-to-s3: not finished (exit $status; failed archives in $report); run it again to continue" >&2 ;;
esac
exit "$status"
