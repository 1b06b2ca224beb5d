#!/bin/sh
# One pod of a Kubernetes Indexed Job restoring a vault: shard $JOB_COMPLETION_INDEX of $SHARDS (the Job's
# completions). Every pod runs the same command; --shard splits the vault by archive id with no coordination, and
# each archive gets the name a whole run would give it.
#
# Variables: VAULT, DEST (s3://BUCKET/PREFIX/ or a folder), SHARDS, JOB_COMPLETION_INDEX (set by Kubernetes),
# INVENTORY (an inventory job id or file; without it each pod starts its own inventory job), STATE_DIR (default
# /state: a volume that outlives the pod is best; an emptyDir works too, see README.md), and the usual AWS
# settings. Extra arguments go to glacier-restore (e.g. --max-jobs 200).
# Exit: glacier-restore's (0 done, 1 some failed: the pod fails and Kubernetes retries the index).
set -eu
: "${VAULT:?set VAULT}" "${DEST:?set DEST (s3://BUCKET/PREFIX/ or a folder)}" "${SHARDS:?set SHARDS (the Job completions)}"
: "${JOB_COMPLETION_INDEX:?set by Kubernetes for an Indexed Job}"
STATE_DIR=${STATE_DIR:-/state}
mkdir -p "$STATE_DIR"
set -- --shard "$JOB_COMPLETION_INDEX/$SHARDS" --to "$DEST" --state "$STATE_DIR/restore-$VAULT-$JOB_COMPLETION_INDEX-of-$SHARDS.jsonl" "$@"
if [ -n "${INVENTORY:-}" ]; then set -- --inventory "$INVENTORY" "$@"; fi
exec glacier-restore -v "$VAULT" "$@"
