// The Store contract: tests/store_contract.cc runs against any Store that a
// test program hands it through MakeContractStore.
#pragma once

#include <memory>

#include "shared/store.h"

// A fresh, empty store for one test; each call gives a new one, which
// removes whatever it was kept in (a directory, a database) when the last
// pointer to it goes. Defined by the test program of each implementation
// (tests/sqlite_store_test.cc, tests/pg_store_test.cc).
std::shared_ptr<shorty::Store> MakeContractStore(bool case_sensitive);
