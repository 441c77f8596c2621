"""The failures of the plugin's library, independent of the generated bindings.

The scripts (main.py) turn each into the generated exception class or xapi.XenAPIException, so
the report printed by the bindings has the idl.md §4.4 form, e.g.
  {"code": "SR_BACKEND_FAILURE", "params": ["Volume_does_not_exist", "<key>"], ...}
"""


class PluginError(Exception):
    """Base class: `code` and `params` are what the failure report carries."""

    def __init__(self, code, params):
        Exception.__init__(self, params[-1] if params else code)
        self.code = code
        self.params = params


class NoSuchVolume(PluginError):
    def __init__(self, key):
        PluginError.__init__(self, "SR_BACKEND_FAILURE", ["Volume_does_not_exist", key])
        self.key = key


class NoSuchSR(PluginError):
    def __init__(self, what):
        PluginError.__init__(self, "SR_BACKEND_FAILURE", ["SR_does_not_exist", what])
        self.what = what


class NotAttached(PluginError):
    def __init__(self, sr):
        PluginError.__init__(self, "SR_BACKEND_FAILURE", ["Sr_not_attached", sr])
        self.sr = sr


def failure(kind, message, code="SR_BACKEND_FAILURE"):
    """A failure named `kind` (a short CamelCase or snake word) with a human message."""
    return PluginError(code, [kind, message])


def bad_config(message):
    return failure("Invalid_configuration", message)


def invalid(message):
    return failure("Invalid_argument", message)


def busy(message):
    return failure("Volume_in_use", message)


def storage(message):
    """The storage itself failed (qemu-img, the file system, a qemu-storage-daemon)."""
    return failure("Storage_error", message)
