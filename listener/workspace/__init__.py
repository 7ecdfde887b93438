"""The cell's workspace: dashboard, incident page, mention explorer and posting desk (JSON API + pages)."""
