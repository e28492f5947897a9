#!/bin/sh
# Container entrypoint for prom/alertmanager:v0.25.0 (busybox): renders the configuration
# from alertmanager.template.yml and the environment, then execs Alertmanager with the
# given arguments. Alertmanager 0.25 cannot read the Discord webhook URL from a file, so
# the URL arrives as an environment variable and is written only to the rendered copy
# (mode 600, outside the image and the repository). The variables are documented at the
# top of the template and in docs/runbook.md; alertmanager/render.ts renders the same way.
#
# Placeholders: ${NAME} is required, ${NAME:-default} has a default; an empty variable
# counts as unset; comment lines are copied as they are. All missing variables are named
# at once and the container stops. awk (not sed) fills them in, so that values need no
# escaping.
#
# Overridable for tests and other layouts:
#   EDGEWATCH_AM_TEMPLATE   template path (default /etc/alertmanager/alertmanager.template.yml)
#   EDGEWATCH_AM_CONFIG     rendered file (default /tmp/alertmanager.yml)
#   ALERTMANAGER_BIN        program to exec (default /bin/alertmanager)
set -eu

template=${EDGEWATCH_AM_TEMPLATE:-/etc/alertmanager/alertmanager.template.yml}
config=${EDGEWATCH_AM_CONFIG:-/tmp/alertmanager.yml}
bin=${ALERTMANAGER_BIN:-/bin/alertmanager}
: "${EDGEWATCH_AM_TEMPLATES_DIR:=$(dirname "$template")/templates}"
export EDGEWATCH_AM_TEMPLATES_DIR

umask 077
tmp="$config.tmp.$$"
if ! awk -v template="$template" '
  /^[ \t]*#/ { print; next }
  {
    line = $0; out = ""
    while (match(line, /[$][{][A-Z0-9_]+(:-[^}]*)?[}]/)) {
      inner = substr(line, RSTART + 2, RLENGTH - 3)
      name = inner; has_default = 0; dflt = ""
      sep = index(inner, ":-")
      if (sep > 0) { name = substr(inner, 1, sep - 1); dflt = substr(inner, sep + 2); has_default = 1 }
      value = ENVIRON[name]
      if (value == "") {
        if (has_default) value = dflt
        else if (!(name in missing)) { missing[name] = 1; nmissing++; names = names " " name }
      }
      if (index(value, "\047") > 0 || index(value, "\n") > 0 || index(value, "\r") > 0) {
        if (!(name in unsafe)) { unsafe[name] = 1; unsafe_names = unsafe_names " " name }
      }
      out = out substr(line, 1, RSTART - 1) value
      line = substr(line, RSTART + RLENGTH)
    }
    print out line
  }
  END {
    if (nmissing > 0) printf "edgewatch alertmanager: missing required variable(s):%s (see %s)\n", names, template > "/dev/stderr"
    if (unsafe_names != "") printf "edgewatch alertmanager: variable(s) must not contain a quote or newline:%s\n", unsafe_names > "/dev/stderr"
    if (nmissing > 0 || unsafe_names != "") exit 1
  }
' "$template" > "$tmp"; then
  rm -f "$tmp"
  exit 1
fi
mv "$tmp" "$config"

exec "$bin" --config.file="$config" "$@"
