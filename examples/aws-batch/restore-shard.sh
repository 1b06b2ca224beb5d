#!/bin/sh
# One child of an AWS Batch array job restoring a vault: shard $AWS_BATCH_JOB_ARRAY_INDEX of $SHARDS (the array
# size). Every child runs the same command; --shard splits the vault by archive id with no coordination, and each
# archive gets the name a whole run would give it.
#
# Variables: VAULT, DEST (s3://BUCKET/PREFIX/ or a folder), SHARDS, AWS_BATCH_JOB_ARRAY_INDEX (set by AWS Batch),
# INVENTORY (an inventory job id or file; without it each child starts its own inventory job), STATE_DIR (default
# /tmp/glacier-restore: a child retried on another instance starts with it empty, see README.md), and the usual
# AWS settings (the job role's credentials). Extra arguments go to glacier-restore.
# Exit: glacier-restore's (0 done, 1 some failed: with a retry strategy, Batch runs the child again).
set -eu
: "${VAULT:?set VAULT}" "${DEST:?set DEST (s3://BUCKET/PREFIX/ or a folder)}" "${SHARDS:?set SHARDS (the array size)}"
: "${AWS_BATCH_JOB_ARRAY_INDEX:?set by AWS Batch for an array job}"
STATE_DIR=${STATE_DIR:-/tmp/glacier-restore}
mkdir -p "$STATE_DIR"
set -- --shard "$AWS_BATCH_JOB_ARRAY_INDEX/$SHARDS" --to "$DEST" --state "$STATE_DIR/restore-$VAULT-$AWS_BATCH_JOB_ARRAY_INDEX-of-$SHARDS.jsonl" "$@"
if [ -n "${INVENTORY:-}" ]; then set -- --inventory "$INVENTORY" "$@"; fi
exec glacier-restore -v "$VAULT" "$@"
