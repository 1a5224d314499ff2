#include "node/http/web_assets.h"

#include <algorithm>

namespace pbchain {

const WebAsset* FindWebAsset(std::string_view path) {
  std::span<const WebAsset> assets = WebAssets();
  auto it = std::lower_bound(
      assets.begin(), assets.end(), path,
      [](const WebAsset& a, std::string_view p) { return a.path < p; });
  if (it == assets.end() || it->path != path) return nullptr;
  return &*it;
}

}  // namespace pbchain
