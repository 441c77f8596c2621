#include "storage_script/attached_srs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace storage {

namespace {

// A minimal S-expression: an atom or a list.
struct Sexp {
  bool is_atom = false;
  std::string atom;
  std::vector<Sexp> list;
};

std::string Atom(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' || c == '"' ||
        c == ';' || c == '\\') {
      plain = false;
    }
  }
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

class Reader {
 public:
  explicit Reader(const std::string& text) : t_(text) {}

  bool Read(Sexp* out) {
    Skip();
    if (i_ >= t_.size()) return Err("unexpected end of input");
    if (t_[i_] == '(') {
      ++i_;
      for (;;) {
        Skip();
        if (i_ >= t_.size()) return Err("unclosed '('");
        if (t_[i_] == ')') {
          ++i_;
          return true;
        }
        Sexp child;
        if (!Read(&child)) return false;
        out->list.push_back(std::move(child));
      }
    }
    if (t_[i_] == ')') return Err("unexpected ')'");
    out->is_atom = true;
    if (t_[i_] == '"') {
      ++i_;
      while (i_ < t_.size() && t_[i_] != '"') {
        if (t_[i_] == '\\' && i_ + 1 < t_.size()) {
          ++i_;
          out->atom += t_[i_] == 'n' ? '\n' : t_[i_];
        } else {
          out->atom += t_[i_];
        }
        ++i_;
      }
      if (i_ >= t_.size()) return Err("unterminated string");
      ++i_;
      return true;
    }
    while (i_ < t_.size() && !std::isspace(static_cast<unsigned char>(t_[i_])) &&
           t_[i_] != '(' && t_[i_] != ')' && t_[i_] != '"') {
      out->atom += t_[i_++];
    }
    return true;
  }

  bool AtEnd() {
    Skip();
    return i_ >= t_.size();
  }
  const std::string& error() const { return error_; }

 private:
  void Skip() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  bool Err(const std::string& what) {
    error_ = what + " at offset " + std::to_string(i_);
    return false;
  }
  const std::string& t_;
  size_t i_ = 0;
  std::string error_;
};

bool MkdirP(const std::string& dir) {
  if (dir.empty()) return true;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !MkdirP(dir.substr(0, slash))) return false;
  return mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST;
}

}  // namespace

std::string AttachedSrs::Serialize(const std::map<std::string, AttachedSr>& table) {
  // Built with appends only: g++ 12 reports a false -Wrestrict on `"(" + str` chains at -O3.
  std::string out = "(";
  for (const auto& [uuid, sr] : table) {
    out.append("(").append(Atom(uuid)).append("((sr ").append(Atom(sr.handle)).append(")(uids(");
    for (size_t i = 0; i < sr.uids.size(); ++i) {
      if (i) out.append(" ");
      out.append(Atom(sr.uids[i]));
    }
    out.append("))))");
  }
  out.append(")");
  return out;
}

bool AttachedSrs::Parse(const std::string& text, std::map<std::string, AttachedSr>* table,
                        std::string* error) {
  Reader reader(text);
  Sexp top;
  if (!reader.Read(&top)) {
    *error = reader.error();
    return false;
  }
  if (!reader.AtEnd()) {
    *error = "trailing data after the table";
    return false;
  }
  if (top.is_atom) {
    *error = "expected a list of (uuid ((sr handle) (uids (...)))) entries";
    return false;
  }
  for (const auto& entry : top.list) {
    if (entry.is_atom || entry.list.size() != 2 || !entry.list[0].is_atom ||
        entry.list[1].is_atom) {
      *error = "malformed entry: expected (uuid ((sr handle) (uids (...))))";
      return false;
    }
    AttachedSr sr;
    bool have_sr = false;
    for (const auto& field : entry.list[1].list) {
      if (field.is_atom || field.list.size() != 2 || !field.list[0].is_atom) {
        *error = "malformed field in the entry for " + entry.list[0].atom;
        return false;
      }
      const std::string& name = field.list[0].atom;
      if (name == "sr" && field.list[1].is_atom) {
        sr.handle = field.list[1].atom;
        have_sr = true;
      } else if (name == "uids" && !field.list[1].is_atom) {
        for (const auto& u : field.list[1].list) {
          if (!u.is_atom) {
            *error = "malformed uid in the entry for " + entry.list[0].atom;
            return false;
          }
          sr.uids.push_back(u.atom);
        }
      } else {
        *error = "unexpected field '" + name + "' in the entry for " + entry.list[0].atom;
        return false;
      }
    }
    if (!have_sr) {
      *error = "the entry for " + entry.list[0].atom + " has no sr";
      return false;
    }
    (*table)[entry.list[0].atom] = std::move(sr);
  }
  return true;
}

void AttachedSrs::Load() {
  if (path_.empty()) return;
  struct stat st;
  if (stat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  std::ifstream in(path_, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::map<std::string, AttachedSr> table;
  std::string error;
  if (!Parse(ss.str(), &table, &error)) {
    std::string aside = path_ + ".corrupt";
    log_.Error("State file " + path_ + " is corrupt (" + error + "); moved it to " + aside +
               " and starting with no attached SRs");
    rename(path_.c_str(), aside.c_str());
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
}

std::optional<AttachedSr> AttachedSrs::Find(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table_.find(uuid);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> AttachedSrs::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [uuid, sr] : table_) out.push_back(uuid);
  return out;
}

bool AttachedSrs::Put(const std::string& uuid, AttachedSr sr) {
  std::lock_guard<std::mutex> lock(mu_);
  table_[uuid] = std::move(sr);
  return SaveLocked();
}

bool AttachedSrs::Remove(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  table_.erase(uuid);
  return SaveLocked();
}

bool AttachedSrs::SaveLocked() {
  if (path_.empty()) return true;
  size_t slash = path_.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash);
  auto fail = [&](const std::string& what) {
    log_.Error("Could not write state file " + path_ + ": " + what + ": " + std::strerror(errno));
    return false;
  };
  if (!MkdirP(dir)) return fail("mkdir " + dir);
  std::string tmp = path_ + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open " + tmp);
  std::string text = Serialize(table_);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t w = write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return fail("write " + tmp);
    }
    done += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0) {
    close(fd);
    return fail("fsync " + tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path_.c_str()) != 0) return fail("rename " + tmp);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return true;
}

}  // namespace storage
