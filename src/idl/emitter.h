// What every emitter produces: a list of files, relative to the output directory, with their
// full text. Emitters do no file I/O (main.cc writes the files) and are deterministic: the same
// model gives byte-identical output.
#pragma once

#include <string>
#include <vector>

#include "idl/model.h"

namespace idl {

struct OutputFile {
  std::string path;  // relative, '/'-separated, e.g. "smapi/smapiv3.h"
  std::string text;
};

std::vector<OutputFile> EmitCpp(const Model& model);
std::vector<OutputFile> EmitPython(const Model& model);
std::vector<OutputFile> EmitOcaml(const Model& model);
std::vector<OutputFile> EmitHtml(const Model& model);

}  // namespace idl
