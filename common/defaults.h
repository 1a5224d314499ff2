// Defaults the programs share, so that a node started without flags and a
// client started without flags meet (docs/OPERATIONS.md "Configuration").
#ifndef PBCHAIN_COMMON_DEFAULTS_H_
#define PBCHAIN_COMMON_DEFAULTS_H_

namespace pbchain {

// The port of pbnode's public gRPC listener (gossip + NodeService) when
// --listen is not given, and the one pbcli dials when --node is not given.
inline constexpr int kDefaultNodePort = 7701;
// pbnode's default --listen and pbcli's default --node: loopback only.
inline constexpr char kDefaultNodeAddress[] = "127.0.0.1:7701";
// pbtracker's default --listen.
inline constexpr char kDefaultTrackerAddress[] = "127.0.0.1:7600";
// pbnode's default --datadir is $HOME/<kDefaultDataDirName>/<chain id>.
inline constexpr char kDefaultDataDirName[] = ".pbchain";

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_DEFAULTS_H_
