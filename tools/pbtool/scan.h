// `pbtool scan CIDR`: finds pbchain nodes on a subnet (common/lan_scan.h:
// neighbour-table hosts first, then every address, bounded concurrency and
// rate) by asking each HOST:PORT for NodeService.GetInfo, and prints them
// grouped by host, then port, then the node's details, as text or as one
// JSON array. docs/OPERATIONS.md, "LAN discovery".
#ifndef PBCHAIN_TOOLS_PBTOOL_SCAN_H_
#define PBCHAIN_TOOLS_PBTOOL_SCAN_H_

#include <ostream>
#include <string>

#include "common/lan_scan.h"
#include "common/tls.h"

namespace pbchain::scan {

// `pbtool help scan`.
extern const char kScanHelp[];

// The command line of `pbtool scan`, as text (checked by RunScanCommand).
struct ScanCommandOptions {
  std::string cidr;            // the one argument
  std::string ports = "7701";  // --ports LOW-HIGH | PORT
  bool json = false;           // --json
  std::string timeout_ms;      // --timeout MS (empty: 500)
  std::string rate;            // --rate N (empty: 200)
  ClientTlsFiles tls;          // --tls-ca, --tls-client-cert/-key
  std::string neighbour_table = kNeighbourTablePath;
};

// Runs the scan and prints to `out` (the result) and `err` (one line per
// problem, "pbtool: ..."). Returns 0 when the scan ran (found nodes or
// not), 2 (kExitUsage) for a bad argument, naming it.
int RunScanCommand(const ScanCommandOptions& options, std::ostream& out,
                   std::ostream& err);

}  // namespace pbchain::scan

#endif  // PBCHAIN_TOOLS_PBTOOL_SCAN_H_
