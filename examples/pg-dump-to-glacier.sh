#!/usr/bin/env bash
# pg-dump-to-glacier.sh [DB]: streams `pg_dump DB` into a Glacier vault, without a copy on local disk.
# Prints glacier-put's JSON result line (archiveId, checksum, size ...) on stdout.
#
#   DB=mydb VAULT=backups examples/pg-dump-to-glacier.sh
#   DB=mydb EXPECTED_SIZE=300G examples/pg-dump-to-glacier.sh                 # a big database
#   DB=mydb SPOOL=/var/spool/mydb examples/pg-dump-to-glacier.sh              # resumable upload
#   DB=mydb KEEP_DAYS=35 examples/pg-dump-to-glacier.sh                       # nightly, keeping 35 days
#
# Size: a pipe's length is unknown, so glacier-put cuts it in 64 MiB parts, enough for 625 GiB. For a bigger
# dump give EXPECTED_SIZE (a generous guess is fine: 300G, 2T); glacier-put picks parts that fit it. (With
# SPOOL, glacier-chunk also cuts 64 MiB parts: give a bigger PART_SIZE, e.g. 512M, for more than 625 GiB.)
#
# A failed pg_dump stores nothing: glacier-put runs it (glacier-put ... -- pg_dump DB) and completes the
# archive only when it exits 0.
#
# Resumability: a stream cannot be replayed, so if the upload fails halfway the dump must be redone. With
# SPOOL=DIR the dump is first cut and hashed into DIR by glacier-chunk -o (needs the dump's size in free
# disk), then uploaded from there; if the upload fails, DIR is kept and glacier-put prints the command that
# resumes it (glacier-put -v VAULT --resume DIR), sending only the missing parts. DIR is removed on success.
#
# Retention: with KEEP_DAYS=N, once the new dump is stored, the dated dumps of DB (exactly "pg_dump DB YYYY-MM-DD")
# this host uploaded more than N days ago are deleted: glacier-ls --archives (the local catalogue glacier-put keeps) picks them by age and name, and
# glacier-rm deletes them and records it (its JSON lines go to stderr). Glacier charges a dump deleted before it
# is 90 days old for the rest of its 90 days (glacier-rm warns, naming the days).
#
# Environment:
#   DB              the database (or the first argument; pg_dump's PG* variables apply as usual)
#   VAULT           the vault (default: backups)
#   PG_DUMP_ARGS    extra pg_dump options, e.g. "-Fc" for the custom format (restore with pg_restore)
#   EXPECTED_SIZE   an upper bound of the dump's size (10G, 2T) for big databases
#   SPOOL           spool folder (must not exist or be empty) for a resumable upload
#   PART_SIZE       part size, 1 MiB x 2^n (default: glacier-put's choice, 64M for a pipe)
#   KEEP_DAYS       delete this DB's dumps older than that many days after a successful upload (default: keep all)
#   AWS_* as usual (see README.md)
set -euo pipefail

me=pg-dump-to-glacier
DB=${1:-${DB:-}}
[ -n "$DB" ] || { echo "usage: DB=NAME $me  (or: $me NAME)" >&2; exit 2; }
VAULT=${VAULT:-backups}
desc=$(printf 'pg_dump %s %s' "$DB" "$(date +%F)" | LC_ALL=C tr -c ' -~' '?')
KEEP_DAYS=${KEEP_DAYS:-}
case "$KEEP_DAYS" in ''|[1-9]|[1-9][0-9]|[1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]) ;; *) echo "$me: KEEP_DAYS must be a whole number of days (1-9999)" >&2; exit 2;; esac
# The dumps of this DB and no other: its description with glob characters escaped, then a date (YYYY-MM-DD) and
# nothing else, so neither a DB named "$DB extra" nor a hand-made "$DB test" archive is ever picked.
name_glob="$(printf '%s' "${desc% *}" | sed 's/[][*?\\]/\\&/g') [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"

# Deletes this DB's dumps older than KEEP_DAYS, as the catalogue lists them (nothing without KEEP_DAYS).
prune() {
  [ -n "$KEEP_DAYS" ] || return 0
  glacier-ls -v "$VAULT" --archives --older-than "${KEEP_DAYS}d" --name "$name_glob" --json | glacier-rm -v "$VAULT" - >&2
}
put=(glacier-put -v "$VAULT" -d "$desc")
[ -z "${EXPECTED_SIZE:-}" ] || put+=(--expected-size "$EXPECTED_SIZE")
part=()
[ -z "${PART_SIZE:-}" ] || part=(-p "$PART_SIZE")
read -r -a extra <<<"${PG_DUMP_ARGS:-}"             # split into words, without expanding globs
dump=(pg_dump ${extra[@]+"${extra[@]}"} "$DB")

if [ -n "${SPOOL:-}" ]; then
  if [ -e "$SPOOL/manifest.json" ]; then
    echo "$me: $SPOOL holds an earlier run's dump; upload it with: glacier-put -v $VAULT --resume $SPOOL && rm -r $SPOOL" >&2
    exit 2
  elif [ -n "$(ls -A "$SPOOL" 2>/dev/null)" ]; then
    echo "$me: $SPOOL holds an interrupted spool (no manifest.json); remove it first" >&2
    exit 2
  fi
  # A failed pg_dump (pipefail) stops here, and its truncated spool is removed: nothing is uploaded.
  if ! "${dump[@]}" | glacier-chunk ${part[@]+"${part[@]}"} -o "$SPOOL"; then
    echo "$me: pg_dump or glacier-chunk failed; nothing uploaded" >&2
    rm -rf -- "$SPOOL"
    exit 1
  fi
  "${put[@]}" "$SPOOL"                      # on failure the spool stays, and glacier-put says how to resume
  rm -rf -- "$SPOOL"
  prune
  exit 0
fi

# glacier-put runs pg_dump itself (after --) and completes the archive only if pg_dump exits 0: a dump that
# dies halfway aborts the upload, nothing is stored, and glacier-put names pg_dump's exit status (exit 1); then
# nothing is pruned either (set -e). Without KEEP_DAYS glacier-put takes this shell's place (signals reach it).
[ -n "$KEEP_DAYS" ] || exec "${put[@]}" ${part[@]+"${part[@]}"} -- "${dump[@]}"
"${put[@]}" ${part[@]+"${part[@]}"} -- "${dump[@]}"
prune
