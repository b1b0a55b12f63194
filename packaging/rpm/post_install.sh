# %post ($1: 1 install, 2 upgrade): the baton user; the service is left disabled and stopped.
# The reload that hands over to the new binary runs in %postun, once the old files are gone.
/usr/libexec/baton/package-hook configure
