#!/bin/sh
# A recording test script. Installed (as a symlink or copy) under any SMAPIv3 method name in a
# plugin directory, it appends "<name> <stdin>" to <dir>/calls.log, prints <dir>/out/<name>
# (or null when absent) and exits with the status in <dir>/rc/<name> (0 when absent).
# <dir>/before/<name>, when present, is run first (e.g. to sleep or to kill itself).
name=$(basename "$0")
dir=$(dirname "$0")
input=$(cat)
printf '%s %s\n' "$name" "$input" >> "$dir/calls.log"
if [ -f "$dir/before/$name" ]; then . "$dir/before/$name"; fi
if [ -f "$dir/out/$name" ]; then cat "$dir/out/$name"; else echo null; fi
if [ -f "$dir/rc/$name" ]; then exit "$(cat "$dir/rc/$name")"; fi
exit 0
