"""Backups of an installation (`manage.py backup DIR`, `manage.py restore DIR`): the database,
the secrets and keys in the data directory, and our registry's storage when it is on the
filesystem, taken while everything runs.

Why a backup taken while pushes, deletions and collections run is consistent:

- The database is snapshotted first, in one go (SQLite's online backup API, `pg_dump`), then
  the storage is copied. Pushes only add files, and a tag is recorded only once its manifest
  and blobs are stored, so the storage copied after the snapshot holds everything the
  snapshot names, plus whatever was pushed meanwhile (the sync records that after a restore).
- Deletions are what could take a file the snapshot names away before it is copied: the
  recycle bin's moves and garbage collection. The backup holds the storage lock
  (registry.locks.storage_kept) from before the snapshot until the copy ends: it waits for the
  deletions under way, and the ones asked for meanwhile are refused ("try again in a few
  minutes"); garbage collection waits for the next round.
- A push that lands during the copy is copied whole or not at all as far as a tag goes: the
  copy walks each repository's tags before its manifests and layer links, and every
  repository before the blobs (tutumweb.backups.storage), the reverse of the order in which the
  registry writes them, so a tag the copy holds has its manifest and blobs in it too.

The parts: `archive` (the backup directory, its manifest and checksums), `database`, `storage`,
`take` (making a backup) and `restore`.
"""
