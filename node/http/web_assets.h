// The block explorer's files (every file under client/web/), embedded into
// pbnode at build time by node/http/embed_web_assets.cmake, so that the HTTP
// gateway needs no files at run time.
#ifndef PBCHAIN_NODE_HTTP_WEB_ASSETS_H_
#define PBCHAIN_NODE_HTTP_WEB_ASSETS_H_

#include <span>
#include <string_view>

namespace pbchain {

struct WebAsset {
  // URL path: "/" + the path under client/web/, e.g. "/index.html".
  std::string_view path;
  // Content-Type header value chosen by extension (html, js, css, svg, png,
  // ico, json; others application/octet-stream).
  std::string_view content_type;
  // The file's exact bytes.
  std::string_view data;
};

// Every embedded file, sorted by path (generated web_assets_data.cc). Empty
// when client/web/ had no files at build time. Any thread.
std::span<const WebAsset> WebAssets();

// The file at URL path `path` ("/index.html"), or null. Any thread.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_WEB_ASSETS_H_
