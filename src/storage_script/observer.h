// The Observer control interface of xapi-idl (spec storage-script.md §1.6), served on the
// message-switch queue `org.xen.xapi.observer`: xapi's SM observer forwarder turns tracing of
// plugin scripts on and off with it. Observer.create and Observer.set_enabled set the switch to
// their `enabled` argument, Observer.destroy clears it; every other Observer method answers
// ["Unimplemented",<method>].
//
// Pure translation of one request; thread-safe as long as `set_enabled` is.
#ifndef STORAGE_SCRIPT_OBSERVER_H_
#define STORAGE_SCRIPT_OBSERVER_H_

#include <functional>
#include <string>

namespace storage {

inline constexpr const char* kObserverQueue = "org.xen.xapi.observer";

// Serves one JSON-RPC request text; returns the response text. Never throws.
std::string HandleObserverRequest(const std::string& body,
                                  const std::function<void(bool)>& set_enabled);

}  // namespace storage

#endif  // STORAGE_SCRIPT_OBSERVER_H_
