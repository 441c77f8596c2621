#include "idl/code_writer.h"

#include <gtest/gtest.h>

namespace idl {
namespace {

TEST(CodeWriterTest, IndentsLinesAndLeavesEmptyLinesBare) {
  CodeWriter w;
  w.Open("struct a {");
  w.Line("int x;");
  w.Line();
  w.Line("int y;\nint z;");
  w.Close("};");
  EXPECT_EQ(w.text(), "struct a {\n  int x;\n\n  int y;\n  int z;\n};\n");
}

TEST(CodeWriterTest, CommentPrefixesEveryLine) {
  CodeWriter w("    ");
  w.Indent();
  w.Comment("# ", "first\n\nthird\n");
  w.Comment("# ", "");
  EXPECT_EQ(w.text(), "    # first\n    #\n    # third\n");
}

TEST(CodeWriterTest, BlockReindentsAFragment) {
  CodeWriter inner;
  inner.Open("if (x) {");
  inner.Line("y();");
  inner.Close("}");
  CodeWriter outer;
  outer.Open("void f() {");
  outer.Block(inner.text());
  outer.Close("}");
  EXPECT_EQ(outer.Take(), "void f() {\n  if (x) {\n    y();\n  }\n}\n");
}

}  // namespace
}  // namespace idl
