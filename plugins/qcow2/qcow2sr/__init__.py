"""Library of the qcow2 volume plugin (org.xen.xapi.storage.qcow2).

The per-method scripts are thin: they decode the call with the generated bindings and call into
this package, which holds the storage logic (docs/qcow2-plugin.md describes the on-disk layout).
"""
