#include "testutil/power_loss_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace dlrd::testutil {
namespace {

constexpr int64_t kSector = 512;

// One unsynced mutating call on a file.
struct Op {
  bool truncate = false;
  int64_t offset = 0;     // write: where; truncate: the new size
  std::string data;       // write: the new bytes
  std::string old_bytes;  // the bytes it overwrote or cut off, from offset
};

struct FileLog {
  int64_t synced_size = 0;
  bool main_db = false;
  std::vector<Op> ops;
};

struct ShimFile {
  sqlite3_file base;  // base.pMethods = &kIoMethods once open
  PowerLossVfs::Impl* impl;
  std::string* path;  // key into Impl::files; null: not tracked
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(ShimFile) % 8 == 0);

}  // namespace

struct PowerLossVfs::Impl {
  std::string name;
  Status status;
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs vfs{};
  std::mt19937_64 rng;

  mutable std::mutex mu;
  std::map<std::string, FileLog> files;
  int64_t until_cut = -1;  // mutating calls left before the cut; -1: none
  bool cut = false;
  int64_t calls = 0;
  Stats stats;

  // Whether the next mutating call may reach the disk. REQUIRES: mu held.
  bool Admit() {
    if (cut) return false;
    if (until_cut > 0 && --until_cut == 0) {
      cut = true;
      return false;
    }
    ++calls;
    return true;
  }
};

namespace {

using Impl = PowerLossVfs::Impl;

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real(); }

// Reads up to `n` bytes at `offset` that exist in the real file.
std::string ReadExisting(sqlite3_file* real, int64_t offset, int64_t n) {
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK) return "";
  int64_t have = std::max<int64_t>(0, std::min<int64_t>(n, size - offset));
  std::string out(static_cast<size_t>(have), '\0');
  if (have > 0 &&
      real->pMethods->xRead(real, out.data(), static_cast<int>(have), offset) !=
          SQLITE_OK) {
    return "";
  }
  return out;
}

int Close(sqlite3_file* f) {
  int rc = Real(f)->pMethods->xClose(Real(f));
  delete Shim(f)->path;
  Shim(f)->path = nullptr;
  return rc;
}

int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, amt, off);
}

int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  ShimFile* sf = Shim(f);
  std::lock_guard<std::mutex> lock(sf->impl->mu);
  if (!sf->impl->Admit()) return SQLITE_IOERR_WRITE;
  if (sf->path) {
    Op op;
    op.offset = off;
    op.data.assign(static_cast<const char*>(buf), static_cast<size_t>(amt));
    op.old_bytes = ReadExisting(sf->real(), off, amt);
    sf->impl->files[*sf->path].ops.push_back(std::move(op));
  }
  return sf->real()->pMethods->xWrite(sf->real(), buf, amt, off);
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  ShimFile* sf = Shim(f);
  std::lock_guard<std::mutex> lock(sf->impl->mu);
  if (!sf->impl->Admit()) return SQLITE_IOERR_TRUNCATE;
  if (sf->path) {
    Op op;
    op.truncate = true;
    op.offset = size;
    op.old_bytes = ReadExisting(sf->real(), size, INT64_MAX / 2);
    sf->impl->files[*sf->path].ops.push_back(std::move(op));
  }
  return sf->real()->pMethods->xTruncate(sf->real(), size);
}

int Sync(sqlite3_file* f, int flags) {
  ShimFile* sf = Shim(f);
  std::lock_guard<std::mutex> lock(sf->impl->mu);
  if (!sf->impl->Admit()) return SQLITE_IOERR_FSYNC;
  int rc = sf->real()->pMethods->xSync(sf->real(), flags);
  if (rc == SQLITE_OK && sf->path) {
    FileLog& log = sf->impl->files[*sf->path];
    log.ops.clear();
    sqlite3_int64 size = 0;
    sf->real()->pMethods->xFileSize(sf->real(), &size);
    log.synced_size = size;
  }
  return rc;
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xLock(Real(f), level);
}
int Unlock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Real(f)->pMethods->xSectorSize(Real(f));
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int region, int size, int extend,
           void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}

const sqlite3_io_methods kIoMethods = {
    .iVersion = 2,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = nullptr,
    .xUnfetch = nullptr,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags,
         int* out_flags) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  ShimFile* sf = Shim(f);
  sf->base.pMethods = nullptr;
  sf->impl = impl;
  sf->path = nullptr;
  sf->real()->pMethods = nullptr;
  int rc = impl->real->xOpen(impl->real, name, sf->real(), flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite will not call xClose on this file; a real file that set its
    // methods anyway must still be closed (sqlite3_vfs.xOpen contract).
    if (sf->real()->pMethods) sf->real()->pMethods->xClose(sf->real());
    return rc;
  }
  if (name && !(flags & SQLITE_OPEN_DELETEONCLOSE)) {
    std::lock_guard<std::mutex> lock(impl->mu);
    auto [it, fresh] = impl->files.try_emplace(name);
    if (fresh) {
      sqlite3_int64 size = 0;
      sf->real()->pMethods->xFileSize(sf->real(), &size);
      it->second.synced_size = size;
    }
    if (flags & SQLITE_OPEN_MAIN_DB) it->second.main_db = true;
    sf->path = new std::string(name);
  }
  sf->base.pMethods = &kIoMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  std::lock_guard<std::mutex> lock(impl->mu);
  if (!impl->Admit()) return SQLITE_IOERR_DELETE;
  int rc = impl->real->xDelete(impl->real, name, sync_dir);
  if (rc == SQLITE_OK) impl->files.erase(name);
  return rc;
}

int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xAccess(impl->real, name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xFullPathname(impl->real, name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xDlOpen(impl->real, name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  impl->real->xDlError(impl->real, n, out);
}
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* sym))(void) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xDlSym(impl->real, handle, sym);
}
void DlClose(sqlite3_vfs* vfs, void* handle) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  impl->real->xDlClose(impl->real, handle);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xRandomness(impl->real, n, out);
}
int Sleep(sqlite3_vfs* vfs, int us) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xSleep(impl->real, us);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xCurrentTime(impl->real, out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xGetLastError(impl->real, n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  Impl* impl = static_cast<Impl*>(vfs->pAppData);
  return impl->real->xCurrentTimeInt64(impl->real, out);
}

Status PWrite(int fd, const std::string& bytes, int64_t offset,
              const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pwrite(fd, bytes.data() + done, bytes.size() - done,
                       static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::Error("pwrite " + path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

PowerLossVfs::PowerLossVfs(std::string name, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->rng.seed(seed);
  impl_->real = sqlite3_vfs_find(nullptr);
  if (impl_->real == nullptr) {
    impl_->status = Status::Error("no default sqlite3_vfs");
    return;
  }
  sqlite3_vfs& v = impl_->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(ShimFile)) + impl_->real->szOsFile;
  v.mxPathname = impl_->real->mxPathname;
  v.zName = impl_->name.c_str();
  v.pAppData = impl_.get();
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  v.xCurrentTimeInt64 = CurrentTimeInt64;
  if (int rc = sqlite3_vfs_register(&v, /*makeDflt=*/0); rc != SQLITE_OK) {
    impl_->status = Status::Error(std::string("sqlite3_vfs_register: ") +
                                  sqlite3_errstr(rc));
  }
}

PowerLossVfs::~PowerLossVfs() {
  if (impl_->status.ok()) sqlite3_vfs_unregister(&impl_->vfs);
}

const Status& PowerLossVfs::status() const { return impl_->status; }
const std::string& PowerLossVfs::name() const { return impl_->name; }

void PowerLossVfs::ArmCut(int64_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->until_cut = n;
  if (n <= 0) impl_->cut = true;
}

void PowerLossVfs::Cut() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cut = true;
}

bool PowerLossVfs::cut() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->cut;
}

int64_t PowerLossVfs::mutating_calls() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->calls;
}

PowerLossVfs::Stats PowerLossVfs::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

Status PowerLossVfs::PowerLoss() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::mt19937_64& rng = impl_->rng;
  Status result;
  for (auto& [path, log] : impl_->files) {
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      result = Status::Error("open " + path + ": " + std::strerror(errno));
      break;
    }
    Status s;
    // Undo, newest first: the file as it was at its last sync.
    for (auto it = log.ops.rbegin(); s.ok() && it != log.ops.rend(); ++it) {
      s = PWrite(fd, it->old_bytes, it->offset, path);
      ++impl_->stats.undone;
      if (it->truncate) ++impl_->stats.truncates;
    }
    if (s.ok() && ftruncate(fd, static_cast<off_t>(log.synced_size)) != 0) {
      s = Status::Error("ftruncate " + path + ": " + std::strerror(errno));
    }
    // Redo a random subset, oldest first, some torn at sector boundaries.
    for (const Op& op : log.ops) {
      if (!s.ok()) break;
      const uint64_t pick = rng() % 3;  // 0: lost, 1: whole, 2: torn
      if (pick == 0) continue;
      if (op.truncate) {
        if (ftruncate(fd, static_cast<off_t>(op.offset)) != 0) {
          s = Status::Error("ftruncate " + path + ": " + std::strerror(errno));
        }
        ++impl_->stats.reapplied;
        continue;
      }
      if (pick == 1) {
        s = PWrite(fd, op.data, op.offset, path);
        ++impl_->stats.reapplied;
        continue;
      }
      // Torn: each sector-aligned piece of the write persisted or not.
      const int64_t end = op.offset + static_cast<int64_t>(op.data.size());
      for (int64_t at = op.offset; s.ok() && at < end;) {
        const int64_t next = std::min(end, (at / kSector + 1) * kSector);
        if (rng() % 2 == 0) {
          s = PWrite(fd,
                     op.data.substr(static_cast<size_t>(at - op.offset),
                                    static_cast<size_t>(next - at)),
                     at, path);
        }
        at = next;
      }
      ++impl_->stats.torn;
    }
    if (s.ok() && fsync(fd) != 0) {
      s = Status::Error("fsync " + path + ": " + std::strerror(errno));
    }
    close(fd);
    if (!s.ok()) {
      result = s;
      break;
    }
    // The WAL-index is rebuilt from the WAL by the next opener.
    if (log.main_db) unlink((path + "-shm").c_str());
  }
  impl_->files.clear();
  impl_->until_cut = -1;
  impl_->cut = false;
  impl_->calls = 0;
  return result;
}

}  // namespace dlrd::testutil
