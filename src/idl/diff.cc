#include "idl/diff.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace idl {
namespace {

// One comparable item of a model: its identity and the properties that make up its interface.
struct Item {
  std::string item;
  std::string path;
  std::string parent_key;  // key of the enclosing item; empty at top level
  std::vector<std::pair<std::string, std::string>> properties;  // fixed order per item kind

  std::string Key() const { return path + "#" + item; }
};

std::string Describe(const Lifecycle& lifecycle) {
  static const char* kNames[] = {"introduced", "changed", "deprecated", "removed"};
  std::string s;
  for (const auto& e : lifecycle.events) {
    if (!s.empty()) s += ", ";
    s += std::string(kNames[static_cast<int>(e.kind)]) + " " + e.release;
  }
  return s.empty() ? "(none)" : s;
}

std::string Describe(const std::vector<TypeRef>& types) {
  std::string s;
  for (const auto& t : types) s += (s.empty() ? "" : ", ") + ToString(t);
  return s.empty() ? "(none)" : "(" + s + ")";
}

// Flattens a model into items keyed by Item::Key().
std::map<std::string, Item> Flatten(const Model& model) {
  std::map<std::string, Item> items;
  auto add = [&items](Item item) {
    std::string key = item.Key();
    items.emplace(std::move(key), std::move(item));
  };
  for (const auto& p : model.packages) {
    std::string prefix = p.name + "/";
    for (const auto& t : p.types) {
      Item type{"type", prefix + t.name, "", {}};
      const char* kind = t.kind == TypeDecl::Kind::kAlias    ? "alias"
                         : t.kind == TypeDecl::Kind::kRecord ? "record"
                         : t.is_error                        ? "errors"
                                                             : "variant";
      type.properties.push_back({"kind", kind});
      // Every item of one kind has the same properties in the same order, so that they can be
      // compared position by position.
      type.properties.push_back(
          {"target", t.kind == TypeDecl::Kind::kAlias ? ToString(t.alias_target) : "(none)"});
      type.properties.push_back({"lifecycle", Describe(t.lifecycle)});
      std::string type_key = type.Key();
      add(std::move(type));
      for (const auto& f : t.fields) {
        add({"field", prefix + t.name + "." + f.name, type_key,
             {{"type", ToString(f.type)},
              {"default", f.default_value ? JsonText(*f.default_value) : "(none)"},
              {"lifecycle", Describe(f.lifecycle)}}});
      }
      for (const auto& c : t.constructors) {
        add({"constructor", prefix + t.name + "." + c.name, type_key,
             {{"payload", Describe(c.payload)},
              {"fallback", c.fallback ? "yes" : "no"},
              {"lifecycle", Describe(c.lifecycle)}}});
      }
    }
    for (const auto& i : p.interfaces) {
      Item iface{"interface", prefix + i.name, "",
                 {{"namespace", "\"" + i.wire_namespace + "\""},
                  {"version", i.version},
                  {"errors", i.error_type},
                  {"lifecycle", Describe(i.lifecycle)}}};
      std::string iface_key = iface.Key();
      add(std::move(iface));
      for (const auto& m : i.methods) {
        Item method{"method", prefix + i.name + "." + m.name, iface_key,
                    {{"wire name", m.wire_name},
                     {"result", ToString(m.result.type)},
                     {"lifecycle", Describe(m.lifecycle)}}};
        std::string method_key = method.Key();
        add(std::move(method));
        for (size_t n = 0; n < m.arguments.size(); ++n) {
          const Argument& a = m.arguments[n];
          add({"argument", prefix + i.name + "." + m.name + "." + a.name, method_key,
               {{"type", ToString(a.type)},
                {"position", std::to_string(n + 1)},
                {"lifecycle", Describe(a.lifecycle)}}});
        }
      }
    }
  }
  return items;
}

}  // namespace

std::vector<Change> DiffModels(const Model& before, const Model& after) {
  std::map<std::string, Item> old_items = Flatten(before);
  std::map<std::string, Item> new_items = Flatten(after);
  std::vector<Change> changes;
  // An added or removed member is listed only when its parent exists on both sides.
  auto parent_in_both = [&](const Item& item) {
    return item.parent_key.empty() ||
           (old_items.count(item.parent_key) && new_items.count(item.parent_key));
  };
  for (const auto& [key, item] : old_items) {
    auto it = new_items.find(key);
    if (it == new_items.end()) {
      if (parent_in_both(item)) changes.push_back({Change::Kind::kRemoved, item.item, item.path, ""});
      continue;
    }
    std::string detail;
    for (size_t n = 0; n < item.properties.size(); ++n) {
      const auto& [name, value] = item.properties[n];
      const std::string& now = it->second.properties[n].second;
      if (value == now) continue;
      if (!detail.empty()) detail += "; ";
      detail += name + " " + value + " -> " + now;
    }
    if (!detail.empty()) changes.push_back({Change::Kind::kChanged, item.item, item.path, detail});
  }
  for (const auto& [key, item] : new_items) {
    if (!old_items.count(key) && parent_in_both(item)) {
      changes.push_back({Change::Kind::kAdded, item.item, item.path, ""});
    }
  }
  std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return std::tie(a.path, a.item) < std::tie(b.path, b.item);
  });
  return changes;
}

std::string FormatChange(const Change& change) {
  const char* verb = change.kind == Change::Kind::kAdded     ? "added"
                     : change.kind == Change::Kind::kRemoved ? "removed"
                                                             : "changed";
  std::string line = std::string(verb) + " " + change.item + " " + change.path;
  if (!change.detail.empty()) line += ": " + change.detail;
  return line;
}

}  // namespace idl
