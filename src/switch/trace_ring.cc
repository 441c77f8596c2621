#include "switch/trace_ring.h"

#include <nlohmann/json.hpp>

#include "switch/json_out.h"

namespace msw {

bool JsonNestsDeeperThan(std::string_view s, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') { if (++depth > limit) return true; }
    else if (c == ']' || c == '}') --depth;
  }
  return false;
}

TraceRing::TraceRing(std::size_t max_entries, std::size_t max_bytes, std::size_t truncate)
    : max_entries_(max_entries), max_bytes_(max_bytes), truncate_(truncate) {}

std::string TraceRing::Compact(const std::string& payload) const {
  // Only texts that look like a JSON object or array are worth a parse attempt; a bare number or
  // string is rare as a payload and is compacted as text either way.
  std::size_t first = payload.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (payload[first] == '{' || payload[first] == '[') &&
      !JsonNestsDeeperThan(payload, 64)) {
    auto tree = nlohmann::ordered_json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!tree.is_discarded()) {
      std::string out;
      AppendCompactJson(&out, tree, truncate_);
      return out;
    }
  }
  return TruncateForTrace(payload, truncate_);
}

void TraceRing::Add(TraceEvent event) {
  int64_t index = next_index_++;
  if (max_entries_ == 0) return;
  std::size_t bytes = 128 + event.queue.size() + event.message.payload.size() +
                      event.message.reply_to.size() + event.message.request.queue.size() +
                      (event.input ? event.input->size() : 0) +
                      (event.output ? event.output->size() : 0);
  // A single event larger than the whole byte budget keeps only a cut of its payload.
  if (bytes > max_bytes_ && !event.is_ack) {
    std::size_t keep = max_bytes_ / 2;
    if (event.message.payload.size() > keep) {
      event.message.payload = TruncateForTrace(event.message.payload, keep);
      bytes = 128 + event.queue.size() + event.message.payload.size();
    }
  }
  events_.push_back({index, std::move(event), bytes});
  bytes_ += bytes;
  while (!events_.empty() && (events_.size() > max_entries_ ||
                              (bytes_ > max_bytes_ && events_.size() > 1))) {
    bytes_ -= events_.front().bytes;
    events_.pop_front();
  }
}

void AppendMessageIdJson(std::string* out, const MessageId& id) {
  out->push_back('[');
  AppendJsonString(out, id.queue);
  out->push_back(',');
  AppendJsonInt(out, id.seq);
  out->push_back(']');
}

void AppendMessageJson(std::string* out, const Message& m) {
  out->append("{\"payload\":");
  AppendJsonString(out, m.payload);
  if (m.is_request) {
    out->append(",\"kind\":[\"Request\",");
    AppendJsonString(out, m.reply_to);
    out->append("]}");
  } else {
    out->append(",\"kind\":[\"Response\",");
    AppendMessageIdJson(out, m.request);
    out->append("]}");
  }
}

void AppendTraceEventJson(std::string* out, const TraceEvent& e) {
  out->append("{\"time\":");
  AppendJsonFloat(out, e.time);
  if (e.input) {
    out->append(",\"input\":");
    AppendJsonString(out, *e.input);
  }
  out->append(",\"queue\":");
  AppendJsonString(out, e.queue);
  if (e.output) {
    out->append(",\"output\":");
    AppendJsonString(out, *e.output);
  }
  out->append(",\"message\":");
  if (e.is_ack) {
    out->append("[\"Ack\",");
    AppendMessageIdJson(out, e.id);
    out->push_back(']');
  } else {
    out->append("[\"Message\",");
    AppendMessageIdJson(out, e.id);
    out->push_back(',');
    AppendMessageJson(out, e.message);
    out->push_back(']');
  }
  if (e.processing_time_ns) {
    out->append(",\"processing_time\":");
    AppendJsonInt(out, *e.processing_time_ns);
  }
  out->push_back('}');
}

void TraceRing::AppendJson(std::string* out, int64_t from) const {
  out->append("{\"events\":[");
  bool first = true;
  for (const auto& s : events_) {
    if (s.index < from) continue;
    if (!first) out->push_back(',');
    first = false;
    out->push_back('[');
    AppendJsonInt(out, s.index);
    out->push_back(',');
    AppendTraceEventJson(out, s.event);
    out->push_back(']');
  }
  out->append("]}");
}

}  // namespace msw
