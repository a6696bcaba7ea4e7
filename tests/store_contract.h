// The Store contract: tests/store_contract.cc runs against any Store that a
// test program hands it through MakeContractStore.
#pragma once

#include <memory>

#include "shared/store.h"

// A fresh, empty store for one test; each call gives a new one. Defined by
// the test program of each implementation (tests/sqlite_store_test.cc).
std::unique_ptr<shorty::Store> MakeContractStore(bool case_sensitive);
