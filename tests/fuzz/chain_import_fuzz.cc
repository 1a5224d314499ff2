// Fuzzes `pbtool import` (tools/pbtool/main.cc, class Importer): a chain
// export file ({"format":"pbchain-export-v1","genesis":{...},"blocks":[...]})
// read in two streaming JSON passes, its genesis parsed, a new RocksDB
// datadir created and every block converted from its JSON protobuf form
// and connected. The harness compiles pbtool's source itself (its main
// renamed) so that the real Importer runs, on a file and a datadir in a
// temp dir that is emptied after each input.
//
// Properties: no crash; an import that reports success connected every
// block of the file (the tip height is the block count).
//
// Speed: an input whose genesis parses opens a RocksDB datadir (a few ms);
// the rest run at memory speed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/fuzz_util.h"

#define main pbtool_main_unused_by_fuzz
#include "tools/pbtool/main.cc"
#undef main

namespace {

// The harness's temp dir (under /dev/shm when there is one), removed at
// exit.
const std::filesystem::path& WorkDir() {
  static const std::filesystem::path* const dir = [] {
    std::string base = "/tmp";
    if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') {
      base = t;
    } else if (std::filesystem::is_directory("/dev/shm")) {
      base = "/dev/shm";
    }
    std::string templ = base + "/pbchain-import-fuzz.XXXXXX";
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
    auto* path = new std::filesystem::path(templ);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(WorkDir(), ec);
    });
    return path;
  }();
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbchain::fuzz::QuietProtobufLogs();
  const std::filesystem::path file = WorkDir() / "export.json";
  const std::filesystem::path datadir = WorkDir() / "datadir";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(size));
    FUZZ_CHECK(out.good());
  }
  {
    pbchain::Importer importer(datadir.string());
    const std::string error = importer.Run(file.string());
    if (error.empty()) {
      FUZZ_CHECK(importer.chain() != nullptr);
      FUZZ_CHECK(importer.chain()->Tip().height == importer.blocks());
    }
    importer.Close();
  }
  std::error_code ec;
  std::filesystem::remove_all(datadir, ec);
  FUZZ_CHECK(!ec);
  return 0;
}
