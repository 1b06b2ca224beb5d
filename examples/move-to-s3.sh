#!/usr/bin/env bash
# move-to-s3.sh ARCHIVE_ID s3://BUCKET/KEY: copies an archive from a Glacier vault to S3 by pipe, with no
# local copy: glacier-job get (retrieve, wait, verified download) | aws s3 cp - (multipart upload from stdin).
#
#   VAULT=backups EXPECTED_SIZE=123456789 examples/move-to-s3.sh "$ARCHIVE_ID" s3://my-bucket/www.tar.xz
#
# `aws s3 cp -` cannot know a stream's length and cuts it in 8 MiB parts, 10,000 at most: a stream over ~78 GiB
# fails unless it is told the size. Give EXPECTED_SIZE (bytes) for big archives: it is the "size" glacier-put
# printed, or the Size in an inventory (glacier-job inventory, then output --archives).
#
# It copies: delete from the vault yourself once the S3 object is checked (glacier-rm -v VAULT -- ARCHIVE_ID).
#
# Environment:
#   VAULT           the vault (default: backups)
#   TIER            Expedited, Standard or Bulk (default: Standard)
#   INTERVAL        how often to ask whether the job is done (default: 60s)
#   EXPECTED_SIZE   the archive's size in bytes, passed to aws s3 cp --expected-size
#   STORAGE_CLASS   S3 storage class (default: STANDARD; e.g. DEEP_ARCHIVE, GLACIER_IR)
#   AWS_* as usual; aws uses its own endpoint settings (AWS_ENDPOINT_URL_GLACIER applies to Glacier only)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: move-to-s3 ARCHIVE_ID s3://BUCKET/KEY" >&2; exit 2; }
id=$1 dest=$2
case $dest in s3://?*/?*) ;; *) echo "move-to-s3: destination must be s3://BUCKET/KEY, not: $dest" >&2; exit 2 ;; esac
VAULT=${VAULT:-backups}

size=()
[ -z "${EXPECTED_SIZE:-}" ] || size=(--expected-size "$EXPECTED_SIZE")
# If glacier-job fails (service, or data it cannot verify: exit 3), aws only sees its input end, and stores
# what came so far as a complete object. So check each side's exit status and remove such an object.
set +e
glacier-job get -v "$VAULT" --tier "${TIER:-Standard}" --interval "${INTERVAL:-60s}" -- "$id" |
  aws s3 cp - "$dest" --storage-class "${STORAGE_CLASS:-STANDARD}" ${size[@]+"${size[@]}"}
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[0]}" -ne 0 ] && [ "${status[1]}" -eq 0 ]; then
  echo "move-to-s3: glacier-job failed (exit ${status[0]}); removing the incomplete $dest" >&2
  aws s3 rm "$dest" >&2 || true
fi
for s in "${status[@]}"; do [ "$s" -eq 0 ] || exit "$s"; done
echo "move-to-s3: archive $id copied to $dest" >&2
