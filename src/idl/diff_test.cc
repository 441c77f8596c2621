#include "idl/diff.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "idl/loader.h"

namespace idl {
namespace {

namespace fs = std::filesystem;

// Two small IDL trees written to a temp dir, loaded, and compared.
class DiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "idl_diff_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Model LoadTree(const std::string& name, const std::string& body) {
    fs::create_directories(dir_ / name);
    std::ofstream(dir_ / name / "p.smapi") << kPrelude << body;
    Diagnostics diagnostics;
    std::optional<Model> model = LoadModel(dir_ / name, diagnostics);
    std::ostringstream errors;
    diagnostics.Print(errors);
    EXPECT_TRUE(model.has_value()) << errors.str();
    return model ? *model : Model{};
  }

  // The formatted changes from `before` to `after`, one per line.
  std::string Diff(const std::string& before, const std::string& after) {
    std::string out;
    for (const auto& c : DiffModels(LoadTree("old", before), LoadTree("new", after))) {
      out += FormatChange(c) + "\n";
    }
    return out;
  }

  static constexpr const char* kPrelude = R"(package p;
/// One.
release "1";
/// Two.
release "2";
/// Errors.
errors exns {
  /// X.
  X;
}
/// Debug.
param dbg: string;
)";
  fs::path dir_;
};

constexpr const char* kBase = R"(
/// A volume.
record volume {
  /// Key.
  key: string;
  /// Size.
  size: int;
}
/// Kinds.
variant kind {
  /// Data.
  Data;
}
/// Volumes.
interface Volume version "5.0.0" errors exns {
  /// Create.
  method create {
    dbg;
    /// Size.
    size: int;
    /// The volume.
    returns volume;
  }
  /// Destroy.
  method destroy {
    dbg;
  }
}
)";

TEST_F(DiffTest, IdenticalTreesHaveNoChanges) { EXPECT_EQ(Diff(kBase, kBase), ""); }

TEST_F(DiffTest, ReportsEveryKindOfChangeInPathOrder) {
  const char* after = R"(
/// A volume.
record volume {
  /// Key.
  key: string;
  /// Size, now wider.
  size: int64;
  /// New.
  @introduced("2")
  cbt: option<bool> = false;
}
/// Kinds.
variant kind {
  /// Data.
  Data;
  /// Metadata only.
  CBT_Metadata;
}
/// A new alias.
alias key = string;
/// Volumes.
interface Volume version "5.1.0" errors exns {
  /// Create.
  method create {
    /// Size.
    size: int64;
    dbg;
    /// Name.
    name: string;
    /// The volume.
    returns volume;
  }
  /// Revert.
  @introduced("2")
  method revert {
    dbg;
  }
}
)";
  EXPECT_EQ(Diff(kBase, after),
            "changed interface p/Volume: version 5.0.0 -> 5.1.0\n"
            "changed argument p/Volume.create.dbg: position 1 -> 2\n"
            "added argument p/Volume.create.name\n"
            "changed argument p/Volume.create.size: type int -> int64; position 2 -> 1\n"
            "removed method p/Volume.destroy\n"
            "added method p/Volume.revert\n"
            "added type p/key\n"
            "added constructor p/kind.CBT_Metadata\n"
            "added field p/volume.cbt\n"
            "changed field p/volume.size: type int -> int64\n");
}

TEST_F(DiffTest, DocumentationIsNotAChangeButLifecycleIs) {
  std::string after = kBase;
  after.replace(after.find("/// Destroy."), 12, "/// Destroy it.\n  @deprecated(\"2\", \"use x\")");
  EXPECT_EQ(Diff(kBase, after),
            "changed method p/Volume.destroy: lifecycle (none) -> deprecated 2\n");
}

TEST_F(DiffTest, KindChangeOfAType) {
  EXPECT_EQ(Diff("/// T.\nalias t = string;\n", "/// T.\nalias t = int;\n"),
            "changed type p/t: target string -> int\n");
  EXPECT_EQ(Diff("/// T.\nalias t = string;\n", "/// T.\nvariant t {\n  /// A.\n  A;\n}\n"),
            "changed type p/t: kind alias -> variant; target string -> (none)\n"
            "added constructor p/t.A\n");
}

}  // namespace
}  // namespace idl
