#!/bin/sh
# One task of a batch engine restoring a vault: shard INDEX of $SHARDS, where INDEX is what the engine gives each
# task: JOB_COMPLETION_INDEX (a pod of a Kubernetes Indexed Job, examples/kubernetes/), AWS_BATCH_JOB_ARRAY_INDEX (a
# child of an AWS Batch array job, examples/aws-batch/), or SHARD_INDEX (any other). Every task runs the same
# command; --shard splits the vault by archive id with no coordination, and each archive gets the name a whole run
# would give it.
#
# Variables: VAULT, DEST (s3://BUCKET/PREFIX/ or a folder), SHARDS (the Job's completions, the array size),
# STATE_DIR (default /state: a volume every task mounts, so a task rescheduled on another node finds its state),
# INVENTORY (default $STATE_DIR/inventory.json: the inventory FILE every task reads; an inventory job's output
# expires 24 h after the job completes, a file does not), INVENTORY_JOB (an inventory job id: when INVENTORY does
# not exist yet, its output is saved there first, once), and the usual AWS settings. Extra arguments go to
# glacier-restore (e.g. --max-jobs 200).
# Exit: glacier-restore's (0 done, 1 some failed: the engine runs the task again, with Kubernetes'
# backoffLimitPerIndex or Batch's retry strategy); 2 when the inventory is neither a file nor given by
# INVENTORY_JOB, or no index is set.
set -eu
: "${VAULT:?set VAULT}" "${DEST:?set DEST (s3://BUCKET/PREFIX/ or a folder)}" "${SHARDS:?set SHARDS (the Job completions, the array size)}"
INDEX=${SHARD_INDEX:-${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-}}}
if [ -z "$INDEX" ]; then
  echo "restore-shard.sh: no index: run it as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or an AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX), or set SHARD_INDEX" >&2
  exit 2
fi
STATE_DIR=${STATE_DIR:-/state}
INVENTORY=${INVENTORY:-$STATE_DIR/inventory.json}
mkdir -p "$STATE_DIR"
if [ ! -f "$INVENTORY" ]; then
  if [ -z "${INVENTORY_JOB:-}" ]; then
    echo "restore-shard.sh: no inventory file $INVENTORY: save one there (glacier-job output -v $VAULT JOB_ID -o $INVENTORY) or set INVENTORY_JOB" >&2
    exit 2
  fi
  # Saved under a name of this task's, then renamed: tasks starting together never read a file half written.
  glacier-job output -v "$VAULT" -o "$INVENTORY.$INDEX.$$.tmp" -- "$INVENTORY_JOB"
  mv -f "$INVENTORY.$INDEX.$$.tmp" "$INVENTORY"
fi
exec glacier-restore -v "$VAULT" --inventory "$INVENTORY" --shard "$INDEX/$SHARDS" --to "$DEST" \
  --state "$STATE_DIR/restore-$VAULT-$INDEX-of-$SHARDS.jsonl" "$@"
