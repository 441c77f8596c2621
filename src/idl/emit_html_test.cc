// Tests of the HTML emitter over the small model of emit_python_test.cc: pages, anchors, links
// from type names to definitions, "used by" lists, examples, and self-containment. The whole
// generated reference is link-checked by bindings/html_check.py.
#include <gtest/gtest.h>

#include "idl/emitter.h"

namespace idl {
namespace testing {
Model BindingsTestModel();
// The fixture of tests/golden/idl, and a check of output against tests/golden/<lang>; both
// in emit_python_test.cc.
Model GoldenFixtureModel();
void ExpectGolden(const std::vector<OutputFile>& files, const std::string& lang);
}  // namespace testing

namespace {

const std::string& Text(const std::vector<OutputFile>& files, const std::string& path) {
  static const std::string missing = "<missing>";
  for (const auto& f : files) {
    if (f.path == path) return f.text;
  }
  return missing;
}

bool Has(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

TEST(EmitHtml, FixtureMatchesTheGoldenFiles) {
  testing::ExpectGolden(EmitHtml(testing::GoldenFixtureModel()), "html");
}

TEST(EmitHtml, WritesIndexPackageAndGroupPages) {
  auto files = EmitHtml(testing::BindingsTestModel());
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"index.html", "demo.html", "demo-volume.html"}));
  for (const auto& f : files) {
    EXPECT_TRUE(Has(f.text, "<meta name=\"viewport\" content=\"width=device-width, "
                            "initial-scale=1\">"))
        << f.path;
    EXPECT_TRUE(Has(f.text, "<style>")) << f.path;
    EXPECT_FALSE(Has(f.text, "http://") || Has(f.text, "https://") || Has(f.text, "<script"))
        << f.path;
  }
  const std::string& index = Text(files, "index.html");
  EXPECT_TRUE(Has(index, "id=\"anatomy\""));
  EXPECT_TRUE(Has(index, "id=\"failure\""));
  EXPECT_TRUE(Has(index, "id=\"datapath\""));
  EXPECT_TRUE(Has(index, "<a href=\"demo-volume.html#I-Volume\">Volume</a>"));
}

TEST(EmitHtml, DefinesEveryTypeWithItsUses) {
  const std::string page = Text(EmitHtml(testing::BindingsTestModel()), "demo.html");
  for (const char* fragment : {
           "<section class=\"item\" id=\"T-volume\">",
           "<tr id=\"T-volume.uuid\"><td><code>uuid</code></td><td><code>option&lt;string&gt;"
           "</code>",
           "<tr id=\"T-health.Pair\"><td><code>Pair</code></td><td><code>int, float</code>",
           // A default and a lifecycle event are shown.
           "<td><code>&quot;Data&quot;</code></td>",
           "Lifecycle: introduced in 5.1",
           // Type names link to their definitions; definitions list their uses.
           "<code>option&lt;<a href=\"demo.html#T-volume_type\">volume_type</a>&gt;</code>",
           "Used by: <a href=\"demo.html#T-volume.volume_type\">volume.volume_type</a>",
           "Used by: <a href=\"demo-volume.html#M-Volume.create\">Volume.create</a>",
           "<section class=\"item\" id=\"T-exns\">\n<h3>errors <code>exns</code></h3>",
       }) {
    EXPECT_TRUE(Has(page, fragment)) << fragment;
  }
}

TEST(EmitHtml, DocumentsEveryMethodWithExamples) {
  const std::string page = Text(EmitHtml(testing::BindingsTestModel()), "demo-volume.html");
  for (const char* fragment : {
           "<h2 id=\"I-Volume\">Interface <code>Volume</code></h2>",
           "<section class=\"item\" id=\"M-Volume.create\">",
           "<p>Create a volume. It may be rounded up.</p>",
           "<tr id=\"M-Volume.create.size\"><td><code>size</code></td><td>in</td><td><code>int64"
           "</code>",
           "<td><i>unnamed</i></td><td>out</td><td><code>unit</code></td>",
           // JSON-RPC request with the arguments by name, and the script's view of it.
           "{&quot;method&quot;:&quot;Volume.create&quot;,&quot;params&quot;:[{&quot;dbg&quot;:"
           "&quot;dbg&quot;,&quot;sr&quot;:&quot;sr&quot;,",
           "| ./Volume.create --json\n",
           // A Python plugin implementing the method.
           "class Implementation(xapi.storage.api.v5.volume.Volume_skeleton):\n"
           "    def create(self, dbg, sr, name, size, sharable):\n        return {",
           "    def destroy(self, dbg, sr, key):\n        pass\n",
           "Errors: <a href=\"demo.html#T-exns\"><code>exns</code></a>",
       }) {
    EXPECT_TRUE(Has(page, fragment)) << fragment;
  }
}

TEST(EmitHtml, EscapesDocText) {
  Model model = testing::BindingsTestModel();
  model.packages[0].types[0].doc = "A <key> & `a<b>`\n\nSecond paragraph.";
  const std::string page = Text(EmitHtml(model), "demo.html");
  EXPECT_TRUE(Has(page, "<p>A &lt;key&gt; &amp; <code>a&lt;b&gt;</code></p>\n<p>Second "
                        "paragraph.</p>"));
}

}  // namespace
}  // namespace idl
