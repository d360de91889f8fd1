# Sourced by setup-engine.sh and compose-compat.sh (needs root).
#
# add_low_suite SUITE LOG: add Debian's SUITE as an apt source pinned at priority 50, so nothing
# of the machine is upgraded from it and a package comes from it only when named PKG/SUITE.
# Returns 0 when it added the source (an `apt-get update` is then due), 1 when it was there.
add_low_suite() {
  local suite=$1 log=$2
  if grep -rqs "^Suites: $suite\$" /etc/apt/sources.list.d/; then return 1; fi
  "$log" "adding Debian $suite as a low-priority apt source"
  cat > "/etc/apt/sources.list.d/composync-$suite.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > "/etc/apt/preferences.d/composync-$suite" <<PIN
Package: *
Pin: release n=$suite
Pin-Priority: 50
PIN
  return 0
}
