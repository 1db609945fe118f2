// PowerLossVfs: a test-only SQLite VFS that simulates a power cut, not just
// a process crash (where the kernel keeps every written byte).
//
// Contract:
// - It wraps the default VFS (sqlite3_vfs_find(nullptr)) and registers under
//   its own name, never as the default; a connection uses it only when
//   opened with that name (SqliteOptions::vfs). Destroying it unregisters it.
// - While running, every call is passed through to the real file, so the
//   process sees normal behaviour. Per file path it keeps the mutating calls
//   since that file's last successful xSync, in order: each xWrite (offset,
//   new bytes, and the old bytes it overwrote) and each xTruncate (the bytes
//   it cut off), and the file's size at that sync (or at first open).
// - ArmCut(n): the n-th mutating call (xWrite, xSync, xTruncate, xDelete on
//   any file) from now, and every later one, fails with SQLITE_IOERR_* and
//   never reaches the disk, as if the power went at that instant. Reads, locks
//   and closes still pass through, so the caller can fail its commit and close
//   its connections. Cut(): from now on.
// - PowerLoss(), after every connection through this VFS is closed: for
//   each file, the unsynced calls are undone (old bytes restored in reverse
//   order, size set back to the size at last sync), then a random subset of
//   them is re-applied in order, as a disk with a volatile write cache might
//   have persisted them: a write whole, not at all, or torn (a random subset
//   of its 512-byte sectors, counted from offset 0 of the file; bytes outside
//   the write are never touched, the "powersafe overwrite" SQLite assumes of
//   unix); a truncate applied or not. Synced data is never lost. The choices
//   come from the seed only, so a seed reproduces a run. Then the state is
//   cleared (nothing armed, no unsynced calls) for the next round.
// - The WAL-index (<db>-shm) is not durable state: SQLite rebuilds it from
//   the WAL when the first connection opens. PowerLoss() deletes it.
// - xDelete is taken as durable when it returns (SQLite deletes only files
//   whose content is synced elsewhere, e.g. the WAL after a checkpoint). A
//   file created and never synced comes back empty (size 0 at its "last
//   sync") rather than missing, which SQLite reads as no file at all.
// - Files opened without a name or with DELETEONCLOSE (temp files) are not
//   tracked. The -shm mapping (xShm*) is not intercepted. The I/O methods
//   are version 2, so memory-mapped reads are off through this VFS.
//
// Thread-safety: every call takes one internal mutex, but the cut counts
// calls in the order they arrive, so a seed reproduces a run only when one
// thread drives the connections (as the tests do).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dlrd/core/util/status.h"

namespace dlrd::testutil {

class PowerLossVfs {
 public:
  struct Stats {
    int64_t undone = 0;     // unsynced writes and truncates rolled back
    int64_t reapplied = 0;  // of those, re-applied whole
    int64_t torn = 0;       // of those, re-applied in part
    int64_t truncates = 0;  // of the undone, truncates
  };

  // Registers the VFS as `name`. Check status() before use.
  PowerLossVfs(std::string name, uint64_t seed);
  ~PowerLossVfs();
  PowerLossVfs(const PowerLossVfs&) = delete;
  PowerLossVfs& operator=(const PowerLossVfs&) = delete;

  const Status& status() const;
  const std::string& name() const;

  // The `n`-th mutating call from now (n >= 1) and every later one fail.
  void ArmCut(int64_t n);
  void Cut();
  // Whether the cut has happened (a call was refused, or Cut() was called).
  bool cut() const;
  // Mutating calls that reached the disk since the last PowerLoss().
  int64_t mutating_calls() const;

  // REQUIRES: no connection through this VFS is open.
  Status PowerLoss();
  // Totals over every PowerLoss() so far.
  Stats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlrd::testutil
