// Tests of the Python emitter over a small model built in code: the file layout, the classes and
// descriptors it writes, and (by running python3 on the output) that the helpers check, normalise
// and report as docs/python-bindings.md says.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "idl/emitter.h"
#include "idl/loader.h"

namespace idl {
namespace testing {

namespace {

TypeRef Builtin(TypeRef::Kind kind) {
  TypeRef t;
  t.kind = kind;
  return t;
}

TypeRef Named(const std::string& name) {
  TypeRef t;
  t.kind = TypeRef::Kind::kNamed;
  t.name = name;
  return t;
}

TypeRef Of(TypeRef::Kind kind, std::vector<TypeRef> args) {
  TypeRef t;
  t.kind = kind;
  t.args = std::move(args);
  return t;
}

Argument Arg(const std::string& name, TypeRef type, const std::string& doc) {
  Argument a;
  a.name = name;
  a.type = std::move(type);
  a.doc = doc;
  return a;
}

Field MakeField(const std::string& name, TypeRef type, const std::string& doc) {
  Field f;
  f.name = name;
  f.type = std::move(type);
  f.doc = doc;
  return f;
}

Constructor Ctor(const std::string& name, std::vector<TypeRef> payload, const std::string& doc) {
  Constructor c;
  c.name = name;
  c.payload = std::move(payload);
  c.doc = doc;
  return c;
}

Method MakeMethod(const std::string& iface, const std::string& name, const std::string& doc,
                  std::vector<Argument> args, TypeRef result, const std::string& result_doc) {
  Method m;
  m.name = name;
  m.wire_name = iface + "." + name;
  m.doc = doc;
  m.arguments = std::move(args);
  m.result.type = std::move(result);
  m.result.doc = result_doc;
  return m;
}

}  // namespace

// A small package using every construct the bindings emitters handle. Shared by the Python,
// OCaml and HTML emitter tests.
Model BindingsTestModel() {
  using K = TypeRef::Kind;
  Package p;
  p.name = "demo";
  p.doc = "A demonstration package.";
  p.attributes.push_back({"python", {"xapi.storage.api.v5"}, {}});
  p.releases.push_back({"5.0", "The first release.", {}});
  p.releases.push_back({"5.1", "Volumes gained a type.", {}});

  TypeDecl key;
  key.kind = TypeDecl::Kind::kAlias;
  key.name = "key";
  key.doc = "A volume key.";
  key.alias_target = Builtin(K::kString);
  p.types.push_back(key);

  TypeDecl volume_type;
  volume_type.kind = TypeDecl::Kind::kVariant;
  volume_type.name = "volume_type";
  volume_type.doc = "The content of a volume.";
  volume_type.constructors = {Ctor("Data", {}, "Ordinary data."),
                              Ctor("CBT_Metadata", {}, "Only CBT metadata.")};
  p.types.push_back(volume_type);

  TypeDecl health;
  health.kind = TypeDecl::Kind::kVariant;
  health.name = "health";
  health.doc = "The health of an SR.";
  health.constructors = {Ctor("Healthy", {Builtin(K::kString)}, "All is well."),
                         Ctor("Pair", {Builtin(K::kInt), Builtin(K::kFloat)}, "Two payloads.")};
  p.types.push_back(health);

  TypeDecl volume;
  volume.kind = TypeDecl::Kind::kRecord;
  volume.name = "volume";
  volume.doc = "The properties of a volume.";
  volume.fields = {
      MakeField("key", Named("key"), "The primary key."),
      MakeField("uuid", Of(K::kOption, {Builtin(K::kString)}), "The storage's uuid."),
      MakeField("name", Builtin(K::kString), "A short label."),
      MakeField("virtual_size", Builtin(K::kInt64), "Size in bytes."),
      MakeField("keys", Of(K::kMap, {Builtin(K::kString), Builtin(K::kString)}), "Metadata."),
      MakeField("volume_type", Of(K::kOption, {Named("volume_type")}), "What it holds."),
  };
  volume.fields.back().default_value = nlohmann::json("Data");
  volume.fields.back().lifecycle.events.push_back(
      {LifecycleEvent::Kind::kIntroduced, "5.1", "", {}});
  p.types.push_back(volume);

  TypeDecl blocklist;
  blocklist.kind = TypeDecl::Kind::kRecord;
  blocklist.name = "blocklist";
  blocklist.doc = "Blocks to copy.";
  blocklist.fields = {
      MakeField("blocksize", Builtin(K::kInt), "Block size in bytes."),
      MakeField("ranges",
                Of(K::kList, {Of(K::kTuple, {Builtin(K::kInt64), Builtin(K::kInt64)})}),
                "(start, length) pairs."),
  };
  p.types.push_back(blocklist);

  TypeDecl exns;
  exns.kind = TypeDecl::Kind::kVariant;
  exns.is_error = true;
  exns.name = "exns";
  exns.doc = "Errors of the volume interfaces.";
  exns.constructors = {Ctor("Volume_does_not_exist", {Builtin(K::kString)}, "No such volume."),
                       Ctor("Unimplemented", {Builtin(K::kString)}, "Not implemented.")};
  p.types.push_back(exns);

  Group group;
  group.name = "volume";
  group.title = "The Volume plugin interface";
  group.doc = "Volumes and SRs.";
  group.interfaces = {"SR", "Volume"};
  p.groups.push_back(group);

  Argument dbg = Arg("dbg", Builtin(K::kString), "Debug context from the caller.");

  Interface sr;
  sr.name = "SR";
  sr.wire_namespace = "SR";
  sr.version = "5.0.0";
  sr.error_type = "exns";
  sr.group = "volume";
  sr.doc = "Operations on SRs.";
  sr.methods.push_back(MakeMethod(
      "SR", "create", "Create an SR.",
      {dbg, Arg("uuid", Builtin(K::kString), "The uuid."),
       Arg("configuration", Of(K::kMap, {Builtin(K::kString), Builtin(K::kString)}),
           "Plugin-specific configuration."),
       Arg("name", Builtin(K::kString), "A label.")},
      Of(K::kMap, {Builtin(K::kString), Builtin(K::kString)}), "The configuration to attach."));
  sr.methods.push_back(MakeMethod("SR", "stat", "The state of an SR.",
                                  {dbg, Arg("sr", Builtin(K::kString), "The SR.")},
                                  Named("health"), "Its health."));
  p.interfaces.push_back(sr);

  Interface vol;
  vol.name = "Volume";
  vol.wire_namespace = "Volume";
  vol.version = "5.0.0";
  vol.error_type = "exns";
  vol.group = "volume";
  vol.doc = "Operations on volumes.";
  vol.methods.push_back(MakeMethod(
      "Volume", "create", "Create a volume.\nIt may be rounded up.",
      {dbg, Arg("sr", Builtin(K::kString), "The SR."),
       Arg("name", Builtin(K::kString), "A label."),
       Arg("size", Builtin(K::kInt64), "Bytes."),
       Arg("sharable", Builtin(K::kBool), "Several hosts at once.")},
      Named("volume"), "The new volume."));
  vol.methods.push_back(MakeMethod("Volume", "destroy", "Remove a volume.",
                                   {dbg, Arg("sr", Builtin(K::kString), "The SR."),
                                    Arg("key", Named("key"), "The volume.")},
                                   Builtin(K::kUnit), ""));
  vol.methods.push_back(MakeMethod("Volume", "compare", "Blocks that differ.",
                                   {dbg, Arg("sr", Builtin(K::kString), "The SR."),
                                    Arg("key", Named("key"), "The volume.")},
                                   Named("blocklist"), "The blocks."));
  p.interfaces.push_back(vol);

  Model model;
  model.packages.push_back(p);
  return model;
}

namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* dir = std::getenv("SMAPI_SOURCE_DIR");
  // Without the variable (a run outside ctest), this file's own location gives the tree.
  return dir != nullptr ? fs::path(dir) : fs::path(__FILE__).parent_path() / "../..";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `diff -u` of two texts, for a readable failure message.
std::string UnifiedDiff(const std::string& expected, const std::string& actual,
                        const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("emit_golden." + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "expected", std::ios::binary) << expected;
  std::ofstream(dir / "actual", std::ios::binary) << actual;
  std::string command = "diff -u --label expected/" + name + " --label actual/" + name + " " +
                        (dir / "expected").string() + " " + (dir / "actual").string();
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    ::pclose(pipe);
  }
  fs::remove_all(dir);
  return out;
}

}  // namespace

Model GoldenFixtureModel() {
  Diagnostics diagnostics;
  std::optional<Model> model = LoadModel(SourceDir() / "tests/golden/idl", diagnostics);
  std::ostringstream errors;
  diagnostics.Print(errors);
  EXPECT_TRUE(model.has_value()) << errors.str();
  return model ? *model : Model{};
}

void ExpectGolden(const std::vector<OutputFile>& files, const std::string& lang) {
  fs::path dir = SourceDir() / "tests/golden" / lang;
  std::set<std::string> generated;
  for (const OutputFile& file : files) {
    generated.insert(file.path);
    fs::path golden = dir / file.path;
    if (!fs::exists(golden)) {
      ADD_FAILURE() << golden << " is missing; run scripts/refresh-golden";
      continue;
    }
    std::string expected = ReadFile(golden);
    EXPECT_TRUE(expected == file.text)
        << file.path << " differs from its golden copy (refresh with scripts/refresh-golden "
        << "and review the diff):\n"
        << UnifiedDiff(expected, file.text, file.path);
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string path = fs::relative(entry.path(), dir).generic_string();
    EXPECT_TRUE(generated.count(path)) << "tests/golden/" << lang << "/" << path
                                       << " is no longer generated";
  }
}

}  // namespace testing

namespace {

const OutputFile* Find(const std::vector<OutputFile>& files, const std::string& path) {
  for (const auto& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

// Writes the generated package into a fresh temp dir and removes it afterwards.
class PythonOutput {
 public:
  explicit PythonOutput(const Model& model) {
    char tmpl[] = "/tmp/emit_python_test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (const auto& f : EmitPython(model)) {
      std::filesystem::path p = dir_ / f.path;
      std::filesystem::create_directories(p.parent_path());
      std::ofstream(p) << f.text;
    }
  }
  ~PythonOutput() { std::filesystem::remove_all(dir_); }

  // Runs a Python program with the package importable; returns its stdout, sets `status`.
  std::string Run(const std::string& program, int* status) {
    std::ofstream(dir_ / "prog.py") << program;
    std::string command = "cd " + dir_.string() + " && PYTHONPATH=. python3 -B prog.py 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    *status = pclose(pipe);
    return out;
  }

 private:
  std::filesystem::path dir_;
};

TEST(EmitPython, WritesThePackageLayout) {
  auto files = EmitPython(testing::BindingsTestModel());
  for (const char* path : {"xapi/__init__.py", "xapi/storage/__init__.py",
                           "xapi/storage/api/__init__.py", "xapi/storage/api/v5/__init__.py",
                           "xapi/storage/api/v5/_types.py", "xapi/storage/api/v5/volume.py",
                           "pyproject.toml"}) {
    EXPECT_NE(Find(files, path), nullptr) << path;
  }
  EXPECT_EQ(files.size(), 7u);
}

TEST(EmitPython, FixtureMatchesTheGoldenFiles) {
  testing::ExpectGolden(EmitPython(testing::GoldenFixtureModel()), "python");
}

TEST(EmitPython, IsDeterministic) {
  auto a = EmitPython(testing::BindingsTestModel());
  auto b = EmitPython(testing::BindingsTestModel());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].text, b[i].text) << a[i].path;
}

TEST(EmitPython, WritesClassesAndDescriptors) {
  auto files = EmitPython(testing::BindingsTestModel());
  const std::string& volume = Find(files, "xapi/storage/api/v5/volume.py")->text;
  for (const char* fragment : {
           "class Volume_does_not_exist(Rpc_light_failure):",
           "class SR_server_dispatcher(object):", "class Volume_skeleton(object):",
           "    def create(self, dbg, sr, name, size, sharable):\n"
           "        \"\"\"Create a volume.\n        It may be rounded up.\"\"\"\n"
           "        raise Unimplemented(\"Volume.create\")\n",
           "class Volume_test(object):", "class Volume_commandline(object):",
           "class volume_server_dispatcher(object):",
           "    def __init__(self, SR=None, Volume=None):",
           "class volume_server_test(volume_server_dispatcher):",
           "_Volume_create_result = (\"named\", \"volume\")",
       }) {
    EXPECT_NE(volume.find(fragment), std::string::npos) << fragment;
  }
  // Unimplemented is a helper class: no second definition.
  EXPECT_EQ(volume.find("class Unimplemented"), std::string::npos);
  const std::string& types = Find(files, "xapi/storage/api/v5/_types.py")->text;
  EXPECT_NE(types.find("(\"volume_type\", (\"named\", \"volume_type\"), True, True, \"Data\"),"),
            std::string::npos);
  EXPECT_NE(types.find("(\"ranges\", (\"list\", (\"tuple\", \"int64\", \"int64\")), False"),
            std::string::npos);
}

TEST(EmitPython, GeneratedCodeChecksAndNormalises) {
  PythonOutput out(testing::BindingsTestModel());
  int status = 0;
  std::string got = out.Run(R"(
import json
import xapi
from xapi.storage.api.v5 import volume
from xapi.storage.api.v5._types import TYPES

class Impl(volume.Volume_skeleton):
    def create(self, dbg, sr, name, size, sharable):
        return {"key": name, "uuid": None, "name": name, "virtual_size": size, "keys": {},
                "volume_type": ["CBT_Metadata"], "tags": ["t"]}
    def compare(self, dbg, sr, key):
        return {"blocksize": 512, "ranges": [(0, 1)]}

d = volume.Volume_server_dispatcher(Impl())
args = {"dbg": "d", "sr": "s", "name": "n", "size": 5, "sharable": False}
print(json.dumps(d.create(args)))
print(json.dumps(d.compare({"dbg": "d", "sr": "s", "key": "k"})))
for bad in [dict(args, size="10"), dict(args, sharable=1)]:
    try:
        d.create(bad)
    except xapi.TypeError as e:
        print(e)
try:
    d.create({"dbg": "d"})
except xapi.UnmarshalException as e:
    print(e)
print(xapi._check(TYPES, ("named", "health"), ["Pair", [1, 2]]))
print(xapi._check(TYPES, "float", 1))
g = volume.volume_server_dispatcher(Volume=d)
print(g._dispatch("Volume.destroy", [{"dbg": "d", "sr": "s", "key": "k"}]))
print(volume.volume_server_test()._dispatch("SR.stat", [{"dbg": "d", "sr": "s"}]))
try:
    g._dispatch("SR.stat", [{}])
except xapi.UnknownMethod as e:
    print(e)
)",
                            &status);
  EXPECT_EQ(status, 0) << got;
  EXPECT_EQ(got,
            "{\"key\": \"n\", \"name\": \"n\", \"virtual_size\": 5, \"keys\": {}, "
            "\"volume_type\": \"CBT_Metadata\", \"tags\": [\"t\"]}\n"
            "{\"blocksize\": 512, \"ranges\": [[0, 1]]}\n"
            "TypeError expected=int64 actual='10'\n"
            "TypeError expected=bool actual=1\n"
            "UnmarshalException thing=argument missing ty=sr desc=\n"
            "['Pair', [1, 2]]\n"
            "1\n"
            "{'Status': 'Failure', 'ErrorDescription': ['Unimplemented', 'Volume.destroy']}\n"
            "{'Status': 'Success', 'Value': ['Healthy', 'string']}\n"
            "Unknown method SR.stat\n");
}

}  // namespace
}  // namespace idl

namespace idl {
namespace {

// The fixture's Python, run: option arguments, unit payloads, fallback, keyword field names.
TEST(EmitPython, FixtureCodeRuns) {
  PythonOutput out(testing::GoldenFixtureModel());
  int status = 0;
  std::string got = out.Run(R"(
import xapi
from fixture.api import things
from fixture.api._types import TYPES

class Keeper(things.Keeper_skeleton):
    def get(self, dbg, names, timeout):
        return [[], "timeout=%r" % (timeout,)]
    def count(self, unit):
        return 3

d = things.Keeper_server_dispatcher(Keeper())
print(d.get({"dbg": "d", "names": ["a"]}), d.get({"dbg": "d", "names": [], "timeout": 5}))
print(d.count({"unit": None}))
for v in [["Empty", None], "Empty", "Nothing", ["Maybe", None], ["Maybe", ["x"]], ["Pair", [1, "Square"]]]:
    print(xapi._check(TYPES, ("named", "thing"), v))
print(xapi._check(TYPES, ("named", "failure"), ["Whatever", "x"]))
item = {"name": "n", "count": 1, "ratio": 1, "ranges": [(1, 2)], "extra": {"a": [1]}, "class": "c"}
print(xapi._check(TYPES, ("named", "item"), item))
print(things.Unknown().failure())
try:
    d.get({"dbg": "d", "names": "a"})
except xapi.TypeError as e:
    print(e)
)",
                            &status);
  EXPECT_EQ(status, 0) << got;
  EXPECT_EQ(got,
            "[[], 'timeout=None'] [[], 'timeout=5']\n"
            "3\n"
            "Empty\nEmpty\nNothing\n['Maybe', []]\n['Maybe', ['x']]\n['Pair', [1, 'Square']]\n"
            "Unknown\n"
            "{'name': 'n', 'count': 1, 'ratio': 1, 'ranges': [[1, 2]], 'extra': {'a': [1]}, "
            "'class': 'c', 'kind': 'plain', 'enabled': True, 'size': 0, 'labels': {}, "
            "'tags': []}\n"
            "{'Status': 'Failure', 'ErrorDescription': ['Unknown', []]}\n"
            "TypeError expected=string list actual='a'\n");
}

}  // namespace
}  // namespace idl
