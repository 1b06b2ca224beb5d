#!/bin/sh
# One pod of a Kubernetes Indexed Job restoring a vault: shard $JOB_COMPLETION_INDEX of $SHARDS (the Job's
# completions). Every pod runs the same command; --shard splits the vault by archive id with no coordination, and
# each archive gets the name a whole run would give it.
#
# Variables: VAULT, DEST (s3://BUCKET/PREFIX/ or a folder), SHARDS, JOB_COMPLETION_INDEX (set by Kubernetes),
# STATE_DIR (default /state: a PersistentVolumeClaim every pod mounts, so a rescheduled pod finds its state),
# INVENTORY (default $STATE_DIR/inventory.json: the inventory FILE every pod reads; an inventory job's output
# expires 24 h after the job completes, a file does not), INVENTORY_JOB (an inventory job id: when INVENTORY does
# not exist yet, its output is saved there first, once), and the usual AWS settings. Extra arguments go to
# glacier-restore (e.g. --max-jobs 200).
# Exit: glacier-restore's (0 done, 1 some failed: the pod fails and Kubernetes retries the index); 2 when the
# inventory is neither a file nor given by INVENTORY_JOB.
set -eu
: "${VAULT:?set VAULT}" "${DEST:?set DEST (s3://BUCKET/PREFIX/ or a folder)}" "${SHARDS:?set SHARDS (the Job completions)}"
: "${JOB_COMPLETION_INDEX:?set by Kubernetes for an Indexed Job}"
STATE_DIR=${STATE_DIR:-/state}
INVENTORY=${INVENTORY:-$STATE_DIR/inventory.json}
mkdir -p "$STATE_DIR"
if [ ! -f "$INVENTORY" ]; then
  if [ -z "${INVENTORY_JOB:-}" ]; then
    echo "restore-shard.sh: no inventory file $INVENTORY: save one there (glacier-job output -v $VAULT JOB_ID -o $INVENTORY) or set INVENTORY_JOB" >&2
    exit 2
  fi
  # Saved under a name of this pod's, then renamed: pods starting together never read a file half written.
  glacier-job output -v "$VAULT" -o "$INVENTORY.$JOB_COMPLETION_INDEX.$$.tmp" -- "$INVENTORY_JOB"
  mv -f "$INVENTORY.$JOB_COMPLETION_INDEX.$$.tmp" "$INVENTORY"
fi
exec glacier-restore -v "$VAULT" --inventory "$INVENTORY" --shard "$JOB_COMPLETION_INDEX/$SHARDS" --to "$DEST" \
  --state "$STATE_DIR/restore-$VAULT-$JOB_COMPLETION_INDEX-of-$SHARDS.jsonl" "$@"
