// PgHookContext: what a PostgreSQL batch hook writes through (the seam of
// include/dlrd/postgres/pg_event_store.h). Both pointers belong to the
// store and stay valid for its life; the connection object is replaced in
// place when the store reconnects, so a hook never caches anything from a
// connection (prepared statements are PgConn's, per connection).
#pragma once

#include "postgres/pg_conn.h"
#include "postgres/pg_stats.h"

namespace dlrd {

struct PgHookContext {
  PgConn* conn = nullptr;
  PgStats* stats = nullptr;
};

}  // namespace dlrd
