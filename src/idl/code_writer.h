// CodeWriter: builds the text of one generated file, owning indentation so that emitters only
// say what to write. Used by every emitter (C++, Python, OCaml, HTML).
//
// Lines are written with the current indentation prefixed; empty lines get no trailing spaces.
// A CodeWriter is a plain value: not thread-safe, cheap to create one per file or fragment.
#pragma once

#include <string>
#include <string_view>

namespace idl {

class CodeWriter {
 public:
  // `indent_unit` is what one level of indentation adds, e.g. "  " or "    ".
  explicit CodeWriter(std::string indent_unit = "  ") : indent_unit_(std::move(indent_unit)) {}

  // Writes `text` as one or more lines (split on '\n'), each at the current indentation.
  // An empty `text` writes one empty line.
  void Line(std::string_view text = {});

  // Writes each line of `text` prefixed by `prefix` (after the indentation), e.g. "// " or "# ".
  // Lines of `text` that are empty get the prefix without its trailing spaces. Writes nothing
  // when `text` is empty.
  void Comment(std::string_view prefix, std::string_view text);

  // Writes `block` (already formatted text, possibly several lines) re-indented by the current
  // indentation. Used to paste a fragment produced by another CodeWriter.
  void Block(std::string_view block);

  // Writes `opener` as a line, then indents by one level. Close() undoes it.
  void Open(std::string_view opener);
  // Unindents by one level, then writes `closer` as a line (nothing when empty).
  // REQUIRES: a matching Indent() or Open().
  void Close(std::string_view closer = {});

  void Indent() { ++depth_; }
  // REQUIRES: depth() > 0.
  void Dedent();
  int depth() const { return depth_; }

  // The text written so far.
  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  void RawLine(std::string_view line);

  std::string indent_unit_;
  int depth_ = 0;
  std::string text_;
};

}  // namespace idl
