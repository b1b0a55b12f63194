# %preun ($1: 0 erase, 1 upgrade): an erase stops baton (Cease to every peer) and disables it;
# an upgrade leaves it running.
if [ "$1" -eq 0 ]; then
    /usr/libexec/baton/package-hook remove
fi
