# %postun ($1: 0 erase, 1 upgrade): after an upgrade, a running baton is reloaded, which hands
# over to the new binary without a route flap (never a restart). An erase keeps the state in
# /var/lib/baton and the baton user, as rpm packages do.
if [ "$1" -ge 1 ]; then
    /usr/libexec/baton/package-hook upgrade
elif [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
