"""Static files of the web UI (a package so that non-editable installs ship them)."""
