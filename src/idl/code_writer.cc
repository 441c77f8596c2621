#include "idl/code_writer.h"

#include <cassert>

namespace idl {

void CodeWriter::RawLine(std::string_view line) {
  if (!line.empty()) {
    for (int i = 0; i < depth_; ++i) text_ += indent_unit_;
    text_ += line;
  }
  text_ += '\n';
}

void CodeWriter::Line(std::string_view text) {
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      RawLine(text.substr(start));
      return;
    }
    RawLine(text.substr(start, end - start));
    start = end + 1;
  }
}

void CodeWriter::Comment(std::string_view prefix, std::string_view text) {
  if (text.empty()) return;
  // A trailing newline in a doc block does not make an extra empty comment line.
  if (text.back() == '\n') text.remove_suffix(1);
  std::string_view bare = prefix;
  while (!bare.empty() && bare.back() == ' ') bare.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    RawLine(line.empty() ? std::string(bare) : std::string(prefix) + std::string(line));
    if (end == std::string_view::npos) return;
    start = end + 1;
  }
}

void CodeWriter::Block(std::string_view block) {
  if (block.empty()) return;
  if (block.back() == '\n') block.remove_suffix(1);
  Line(block);
}

void CodeWriter::Open(std::string_view opener) {
  Line(opener);
  Indent();
}

void CodeWriter::Close(std::string_view closer) {
  Dedent();
  if (!closer.empty()) Line(closer);
}

void CodeWriter::Dedent() {
  assert(depth_ > 0);
  --depth_;
}

}  // namespace idl
