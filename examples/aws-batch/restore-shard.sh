#!/bin/sh
# One child of an AWS Batch array job restoring a vault: shard $AWS_BATCH_JOB_ARRAY_INDEX of $SHARDS (the array
# size). Every child runs the same command; --shard splits the vault by archive id with no coordination, and each
# archive gets the name a whole run would give it.
#
# Variables: VAULT, DEST (s3://BUCKET/PREFIX/ or a folder), SHARDS, AWS_BATCH_JOB_ARRAY_INDEX (set by AWS Batch),
# STATE_DIR (default /state: an EFS volume every child mounts, so a child retried on another instance finds its
# state),
# INVENTORY (default $STATE_DIR/inventory.json: the inventory FILE every child reads; an inventory job's output
# expires 24 h after the job completes, a file does not), INVENTORY_JOB (an inventory job id: when INVENTORY does
# not exist yet, its output is saved there first, once), and the usual AWS settings. Extra arguments go to
# glacier-restore (e.g. --max-jobs 200).
# Exit: glacier-restore's (0 done, 1 some failed: with a retry strategy, Batch runs the child again); 2 when the
# inventory is neither a file nor given by INVENTORY_JOB.
set -eu
: "${VAULT:?set VAULT}" "${DEST:?set DEST (s3://BUCKET/PREFIX/ or a folder)}" "${SHARDS:?set SHARDS (the Job completions)}"
: "${AWS_BATCH_JOB_ARRAY_INDEX:?set by AWS Batch for an array job}"
STATE_DIR=${STATE_DIR:-/state}
INVENTORY=${INVENTORY:-$STATE_DIR/inventory.json}
mkdir -p "$STATE_DIR"
if [ ! -f "$INVENTORY" ]; then
  if [ -z "${INVENTORY_JOB:-}" ]; then
    echo "restore-shard.sh: no inventory file $INVENTORY: save one there (glacier-job output -v $VAULT JOB_ID -o $INVENTORY) or set INVENTORY_JOB" >&2
    exit 2
  fi
  # Saved under a name of this child's, then renamed: children starting together never read a file half written.
  glacier-job output -v "$VAULT" -o "$INVENTORY.$AWS_BATCH_JOB_ARRAY_INDEX.$$.tmp" -- "$INVENTORY_JOB"
  mv -f "$INVENTORY.$AWS_BATCH_JOB_ARRAY_INDEX.$$.tmp" "$INVENTORY"
fi
exec glacier-restore -v "$VAULT" --inventory "$INVENTORY" --shard "$AWS_BATCH_JOB_ARRAY_INDEX/$SHARDS" --to "$DEST" \
  --state "$STATE_DIR/restore-$VAULT-$AWS_BATCH_JOB_ARRAY_INDEX-of-$SHARDS.jsonl" "$@"
